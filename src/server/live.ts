import type { CircuitBreaker } from '../transport/circuit-breaker.js';
import type { UsageRecord, UsageSink } from '../control/usage-record.js';

/** A recent error, as the dashboard's live page shows it: no prompt, no secret. */
export interface RecentError {
  time: number;
  requestId: string;
  status: number;
  error: string | null;
  reason: string | null;
  key: string | null;
  model: string | null;
  front: string;
}

/** What this replica is doing now. */
export interface LiveSnapshot {
  time: number;
  inFlight: number;
  /** Requests answered in each of the last 60 seconds, oldest first. */
  perSecond: number[];
  /** Errors of the last 60 seconds in each second, oldest first. */
  errorsPerSecond: number[];
  recentErrors: RecentError[];
  /** Each upstream target this replica has called, with its circuit's state. */
  targets: Array<{
    target: string;
    region: string;
    modelId: string;
    backend: string;
    state: 'closed' | 'open' | 'half-open';
    failures: number;
  }>;
}

/**
 * A usage sink that keeps the last minute of this replica's traffic in memory: answers per second,
 * errors per second, and the last 50 errors. The dashboard's live page polls it (`GET /admin/live`).
 */
export function createLiveSink(
  now: () => number = Date.now,
): UsageSink & { counts(): { perSecond: number[]; errorsPerSecond: number[] }; errors(): RecentError[] } {
  const answered = new Array<number>(60).fill(0);
  const failed = new Array<number>(60).fill(0);
  let second = Math.floor(now() / 1000);
  const recent: RecentError[] = [];
  const advance = () => {
    const s = Math.floor(now() / 1000);
    for (let t = second + 1; t <= s && t <= second + 60; t++) {
      answered[t % 60] = 0;
      failed[t % 60] = 0;
    }
    second = Math.max(second, s);
  };
  const window = (ring: number[]) => Array.from({ length: 60 }, (_, i) => ring[(second - 59 + i + 6000) % 60]!);
  return {
    record(u: UsageRecord) {
      if (!u.metered) return;
      advance();
      answered[second % 60]!++;
      if (u.status >= 400) {
        failed[second % 60]!++;
        recent.unshift({
          time: u.time,
          requestId: u.requestId,
          status: u.status,
          error: u.error ?? null,
          reason: u.reason ?? null,
          key: u.key ?? null,
          model: u.model ?? null,
          front: u.front,
        });
        if (recent.length > 50) recent.length = 50;
      }
    },
    counts() {
      advance();
      return { perSecond: window(answered), errorsPerSecond: window(failed) };
    },
    errors: () => recent.slice(),
  };
}

/** Each upstream target this replica has called, with its circuit (keys are region/modelId/backend; ARNs have /). */
export function targetsOf(breaker: CircuitBreaker): LiveSnapshot['targets'] {
  return (breaker.states?.() ?? []).map((t) => {
    const first = t.key.indexOf('/');
    const last = t.key.lastIndexOf('/');
    const modelId = t.key.slice(first + 1, last);
    const region = t.key.slice(0, first);
    return { target: t.key, region, modelId, backend: t.key.slice(last + 1), state: t.state, failures: t.failures };
  });
}
