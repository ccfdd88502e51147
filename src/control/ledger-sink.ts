import { Worker } from 'node:worker_threads';
import { ledgerValuesOf } from './ledger-columns.js';
import { LEDGER_INSERT_SQL, storePath } from './sqlite-store.js';
import type { UsageSink } from './usage-record.js';

/**
 * The embedded store's ledger as a usage sink: every answered request (refused ones too) as a row,
 * batched every `flushMs` and written by a thread of its own (`ledger-worker.mjs`), so SQLite's
 * inserts and WAL checkpoints never hold up the event loop; idempotent by request id. Probes,
 * metrics and the admin API are not model traffic and are not kept. A batch is kept until the
 * thread says it is written; one that fails goes back in the queue, and the problem is said.
 * `close` writes what is left and waits for every batch (SIGTERM loses nothing).
 */
export function createThreadedLedgerSink(
  dataDir: string,
  options: { flushMs?: number; onError?: (err: unknown, rows: number) => void } = {},
): UsageSink & { flush(): void; drain(): Promise<void>; pending(): number; close(): Promise<void> } {
  const flushMs = options.flushMs ?? 200;
  const worker = new Worker(new URL('./ledger-worker.mjs', import.meta.url), {
    workerData: { path: storePath(dataDir), sql: LEDGER_INSERT_SQL },
  });
  worker.unref();
  let rows: Array<Array<string | number | null>> = [];
  const sent = new Map<number, Array<Array<string | number | null>>>();
  let nextId = 1;
  let idle: Array<() => void> = [];
  let closed: (() => void) | undefined;
  const settleIdle = () => {
    if (sent.size === 0) for (const f of idle.splice(0)) f();
  };
  worker.on('message', (msg: { type: string; id?: number; message?: string }) => {
    if (msg.type === 'closed') return closed?.();
    const batch = sent.get(msg.id!);
    sent.delete(msg.id!);
    if (msg.type === 'failed' && batch) {
      rows = batch.concat(rows);
      options.onError?.(new Error(msg.message), rows.length);
    }
    settleIdle();
  });
  worker.on('error', (err) => {
    // The thread is gone: what it held comes back to the queue (kept, not written) and it is said.
    for (const batch of sent.values()) rows = batch.concat(rows);
    sent.clear();
    options.onError?.(err, rows.length);
    settleIdle();
  });
  function flush(): void {
    if (!rows.length) return;
    const id = nextId++;
    sent.set(id, rows);
    worker.postMessage({ type: 'rows', id, rows });
    rows = [];
  }
  const timer = setInterval(flush, flushMs);
  timer.unref();
  return {
    record(u) {
      if (!u.metered) return;
      rows.push(ledgerValuesOf(u));
    },
    flush,
    /** Sends what is held now and resolves once the thread has answered for every batch sent. */
    drain() {
      flush();
      return sent.size ? new Promise<void>((r) => idle.push(r)) : Promise.resolve();
    },
    pending: () => rows.length + [...sent.values()].reduce((a, b) => a + b.length, 0),
    async close() {
      clearInterval(timer);
      flush();
      if (sent.size)
        await Promise.race([
          new Promise<void>((r) => idle.push(r)),
          new Promise<void>((r) => setTimeout(r, 10_000).unref()),
        ]);
      await new Promise<void>((resolve) => {
        closed = resolve;
        worker.postMessage({ type: 'close' });
        setTimeout(resolve, 5_000).unref();
      });
      idle = [];
      await worker.terminate();
    },
  };
}
