// The ledger's writer thread: batches of rows arrive as arrays of column values and go into SQLite
// in one transaction each, off the gateway's event loop (inserts and WAL checkpoints included).
// Plain JavaScript so that it runs as it is under tsx (tests) and from dist/ (copied by the build).
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const db = new Database(workerData.path);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 5000');
const insert = db.prepare(workerData.sql);
const write = db.transaction((rows) => {
  let added = 0;
  for (const row of rows) added += insert.run(row).changes;
  return added;
});

parentPort.on('message', (msg) => {
  if (msg.type === 'close') {
    db.close();
    parentPort.postMessage({ type: 'closed' });
    return;
  }
  try {
    parentPort.postMessage({ type: 'written', id: msg.id, added: write(msg.rows) });
  } catch (err) {
    parentPort.postMessage({ type: 'failed', id: msg.id, message: String(err && err.message ? err.message : err) });
  }
});
