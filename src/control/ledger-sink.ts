import type { UsageRecord, UsageSink } from '../server/usage.js';
import type { ControlStore, LedgerRow } from './sqlite-store.js';

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
  };
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
