import { Worker } from 'node:worker_threads';
import type { LedgerRow } from './control-store.js';
import { ledgerValues } from './ledger-columns.js';
import { LEDGER_INSERT_SQL, storePath } from './sqlite-store.js';

/**
 * The embedded store's ledger writer: batches of rows go into SQLite from a thread of its own
 * (`ledger-worker.mjs`), so that SQLite's inserts and WAL checkpoints never hold up the event loop;
 * idempotent by request id. `appendLedger` resolves (with the rows added) once the thread has committed the batch and
 * rejects when it could not (the caller keeps the rows). A thread that dies is started again at
 * the next batch. The journal in front of it (`createJournaledLedgerSink`) makes each row durable
 * before its answer ends.
 */
export function createLedgerWriterThread(dataDir: string): {
  appendLedger(rows: LedgerRow[]): Promise<number>;
  close(): Promise<void>;
} {
  const waiting = new Map<number, { resolve: (added: number) => void; reject: (err: Error) => void }>();
  let nextId = 1;
  let worker: Worker | undefined;
  const start = (): Worker => {
    const w = new Worker(new URL('./ledger-worker.mjs', import.meta.url), {
      workerData: { path: storePath(dataDir), sql: LEDGER_INSERT_SQL },
    });
    w.unref();
    w.on('message', (msg: { type: string; id?: number; message?: string; added?: number }) => {
      const waiter = waiting.get(msg.id ?? 0);
      waiting.delete(msg.id ?? 0);
      if (msg.type === 'failed') waiter?.reject(new Error(msg.message));
      else waiter?.resolve(msg.added ?? 0);
    });
    // The thread is gone: what it held is refused (the journal keeps it), and the next batch starts another.
    const gone = (err: Error) => {
      if (worker === w) worker = undefined;
      for (const waiter of waiting.values()) waiter.reject(err);
      waiting.clear();
    };
    w.on('error', gone);
    w.on('exit', (code) => gone(new Error(`the ledger's writer thread exited (${code})`)));
    return w;
  };
  return {
    appendLedger(rows) {
      const id = nextId++;
      worker ??= start();
      const done = new Promise<number>((resolve, reject) => waiting.set(id, { resolve, reject }));
      worker.postMessage({ type: 'rows', id, rows: rows.map(ledgerValues) });
      return done;
    },
    async close() {
      const w = worker;
      worker = undefined;
      if (!w) return;
      const closed = new Promise<void>((resolve) => {
        w.on('message', (msg: { type: string }) => msg.type === 'closed' && resolve());
        setTimeout(resolve, 5_000).unref();
      });
      w.postMessage({ type: 'close' });
      await closed;
      await w.terminate();
    },
  };
}
