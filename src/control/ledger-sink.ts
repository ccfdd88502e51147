import { Worker } from 'node:worker_threads';
import { ledgerValuesOf } from './ledger-columns.js';
import { LEDGER_INSERT_SQL, storePath } from './sqlite-store.js';
import { keptInLedger, type UsageSink } from './usage-record.js';

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
  const worker = new Worker(new URL('./ledger-worker.mjs', import.meta.url), {
    workerData: { path: storePath(dataDir), sql: LEDGER_INSERT_SQL },
  });
  worker.unref();
  const batches = new Batches((err, rows) => options.onError?.(err, rows));
  let closed: (() => void) | undefined;
  worker.on('message', (msg: { type: string; id?: number; message?: string }) => {
    if (msg.type === 'closed') return closed?.();
    batches.answered(msg.id!, msg.type === 'failed' ? new Error(msg.message) : undefined);
  });
  // The thread is gone: what it held comes back to the queue (kept, not written) and it is said.
  worker.on('error', (err) => batches.lost(err));
  const flush = () => batches.send((id, rows) => worker.postMessage({ type: 'rows', id, rows }));
  const timer = setInterval(flush, options.flushMs ?? 200);
  timer.unref();
  return {
    record(u) {
      if (keptInLedger(u)) batches.add(ledgerValuesOf(u));
    },
    flush,
    /** Sends what is held now and resolves once the thread has answered for every batch sent. */
    drain() {
      flush();
      return batches.settled();
    },
    pending: () => batches.pending(),
    async close() {
      clearInterval(timer);
      flush();
      await Promise.race([batches.settled(), new Promise<void>((r) => setTimeout(r, 10_000).unref())]);
      await new Promise<void>((resolve) => {
        closed = resolve;
        worker.postMessage({ type: 'close' });
        setTimeout(resolve, 5_000).unref();
      });
      await worker.terminate();
    },
  };
}

type Row = Array<string | number | null>;

/** Rows held, and batches sent to the thread and not yet answered for (kept until written). */
class Batches {
  private rows: Row[] = [];
  private readonly sent = new Map<number, Row[]>();
  private nextId = 1;
  private idle: Array<() => void> = [];

  constructor(private readonly onError: (err: unknown, rows: number) => void) {}

  add(row: Row): void {
    this.rows.push(row);
  }

  send(post: (id: number, rows: Row[]) => void): void {
    if (!this.rows.length) return;
    const id = this.nextId++;
    this.sent.set(id, this.rows);
    post(id, this.rows);
    this.rows = [];
  }

  /** The thread wrote a batch, or failed to: a failed one goes back in the queue. */
  answered(id: number, failure: Error | undefined): void {
    const batch = this.sent.get(id);
    this.sent.delete(id);
    if (failure && batch) {
      this.rows = batch.concat(this.rows);
      this.onError(failure, this.rows.length);
    }
    this.settle();
  }

  lost(err: unknown): void {
    for (const batch of this.sent.values()) this.rows = batch.concat(this.rows);
    this.sent.clear();
    this.onError(err, this.rows.length);
    this.settle();
  }

  /** Resolves once every batch sent has been answered for. */
  settled(): Promise<void> {
    return this.sent.size ? new Promise<void>((r) => this.idle.push(r)) : Promise.resolve();
  }

  pending(): number {
    return this.rows.length + [...this.sent.values()].reduce((a, b) => a + b.length, 0);
  }

  private settle(): void {
    if (this.sent.size === 0) for (const f of this.idle.splice(0)) f();
  }
}
