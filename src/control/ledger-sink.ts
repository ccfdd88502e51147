import type { UsageRecord, UsageSink } from '../server/usage.js';
import { Worker } from 'node:worker_threads';
import type { LedgerRow } from './control-store.js';
import { LEDGER_INSERT_SQL, storePath, type SqliteStore as ControlStore } from './sqlite-store.js';

const n = (v: number | undefined) => v ?? 0;
const s = (v: string | undefined) => v ?? null;

/** A usage record as its ledger row. */
export function ledgerRowOf(u: UsageRecord): LedgerRow {
  return {
    requestId: u.requestId,
    time: u.time,
    front: u.front,
    route: u.route,
    keyId: s(u.keyId),
    keyName: s(u.key),
    user: s(u.user),
    team: s(u.team),
    session: s(u.session),
    metadataUser: s(u.metadataUser),
    userAgent: s(u.userAgent),
    model: s(u.model),
    bedrockModel: s(u.bedrockModel),
    region: s(u.region),
    scope: s(u.scope),
    status: u.status,
    error: s(u.error),
    reason: s(u.reason),
    streamed: u.streamed,
    inputTokens: n(u.inputTokens),
    outputTokens: n(u.outputTokens),
    cacheReadTokens: n(u.cacheReadTokens),
    cacheWrite5mTokens: n(u.cacheWrite5mTokens),
    cacheWrite1hTokens: n(u.cacheWrite1hTokens),
    costUsd: n(u.costUsd),
    latencyMs: Math.round(u.latencyMs * 1000) / 1000,
    ttfbMs: u.ttfbMs === undefined ? null : Math.round(u.ttfbMs * 1000) / 1000,
    dropped: u.dropped?.length ? u.dropped.join(',') : null,
  };
}

/** A usage record as the ledger insert's parameters (LEDGER_COLUMNS order), with no row object between. */
export function ledgerValuesOf(u: UsageRecord): Array<string | number | null> {
  return [u.requestId, u.time, u.front, u.route, s(u.keyId), s(u.key), s(u.user), s(u.team), s(u.session), s(u.metadataUser), s(u.userAgent), s(u.model), s(u.bedrockModel), s(u.region), s(u.scope), u.status, s(u.error), s(u.reason), u.streamed ? 1 : 0, n(u.inputTokens), n(u.outputTokens), n(u.cacheReadTokens), n(u.cacheWrite5mTokens), n(u.cacheWrite1hTokens), n(u.costUsd), Math.round(u.latencyMs * 1000) / 1000, u.ttfbMs === undefined ? null : Math.round(u.ttfbMs * 1000) / 1000, u.dropped?.length ? u.dropped.join(',') : null];
}

/**
 * The ledger as a usage sink: every answered request (refused ones too) as a row, written in
 * batches off the request path (every `flushMs`, or at once past `maxBatch` rows), idempotent by
 * request id. `close` writes what is left (SIGTERM loses nothing); a kill -9 loses at most the
 * rows of the last `flushMs`. Probes and metrics scrapes are not model traffic and are not kept.
 */
export function createLedgerSink(store: Pick<ControlStore, 'appendLedger'>, options: { flushMs?: number; maxBatch?: number; onError?: (err: unknown, rows: number) => void } = {}): UsageSink & { flush(): void; pending(): number; close(): Promise<void> } {
  const flushMs = options.flushMs ?? 200;
  const maxBatch = options.maxBatch ?? 2000;
  let rows: LedgerRow[] = [];
  function flush(): void {
    if (!rows.length) return;
    const batch = rows;
    rows = [];
    try {
      store.appendLedger(batch);
    } catch (err) {
      // Kept for the next flush: a busy or full disk must not lose what was answered.
      rows = batch.concat(rows);
      options.onError?.(err, batch.length);
    }
  }
  const timer = setInterval(flush, flushMs);
  timer.unref();
  return {
    record(u) {
      if (u.front === 'ops') return;
      rows.push(ledgerRowOf(u));
      if (rows.length >= maxBatch) flush();
    },
    flush,
    pending: () => rows.length,
    async close() {
      clearInterval(timer);
      flush();
    },
  };
}

/**
 * The ledger sink for a running gateway: rows are batched as {@link createLedgerSink}'s are, but
 * each batch goes to a writer thread of its own (`ledger-worker.mjs`), so SQLite's inserts and WAL
 * checkpoints never hold up the event loop. A batch is kept until the thread says it is written; one
 * that fails goes back in the queue, and the problem is said. `close` waits for every batch.
 */
export function createThreadedLedgerSink(dataDir: string, options: { flushMs?: number; onError?: (err: unknown, rows: number) => void } = {}): UsageSink & { flush(): void; pending(): number; close(): Promise<void> } {
  const flushMs = options.flushMs ?? 200;
  const worker = new Worker(new URL('./ledger-worker.mjs', import.meta.url), { workerData: { path: storePath(dataDir), sql: LEDGER_INSERT_SQL } });
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
      if (u.front === 'ops') return;
      rows.push(ledgerValuesOf(u));
    },
    flush,
    pending: () => rows.length + [...sent.values()].reduce((a, b) => a + b.length, 0),
    async close() {
      clearInterval(timer);
      flush();
      if (sent.size) await Promise.race([new Promise<void>((r) => idle.push(r)), new Promise<void>((r) => setTimeout(r, 10_000).unref())]);
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
