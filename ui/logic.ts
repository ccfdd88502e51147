// The dashboard's logic without the DOM: ranges, totals, stacks, key status, the live minute.
// Pure functions of their arguments (the clock included), tested in test/ui/logic.test.ts.
import type { KeyView, Limits, ReportRow, SeriesRow } from '../src/server/admin-types.js';

export type Range = { since: number; until: number; label: string };

const DAY = 86_400_000;
const LIMITS = ['rpm', 'itpm', 'otpm', 'concurrency'] as const;

/** The range the overview's buttons and inputs name, ending at `now`. */
export function rangeOf(params: URLSearchParams, now: number): Range {
  const r = params.get('range') ?? '24h';
  if (r === 'custom') {
    const since = Date.parse(params.get('since') ?? '');
    const until = Date.parse(params.get('until') ?? '');
    if (Number.isFinite(since) && Number.isFinite(until) && until > since) return { since, until, label: 'custom' };
  }
  const span = r === '30d' ? 30 * DAY : r === '7d' ? 7 * DAY : DAY;
  return { since: now - span, until: now + 1, label: r === '30d' || r === '7d' ? r : '24h' };
}

/** The totals of a report's rows (cache writes of both lifetimes together). */
export function totals(rows: readonly ReportRow[]) {
  const t = {
    requests: 0,
    errors: 0,
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    costUsd: 0,
  };
  for (const r of rows) {
    t.requests += r.requests;
    t.errors += r.errors;
    t.inputTokens += r.inputTokens;
    t.outputTokens += r.outputTokens;
    t.cacheReadTokens += r.cacheReadTokens;
    t.cacheWriteTokens += r.cacheWrite5mTokens + r.cacheWrite1hTokens;
    t.costUsd += r.costUsd;
  }
  return t;
}

export interface Stack {
  /** Bucket starts, ms. */
  times: number[];
  series: Array<{ label: string; values: number[] }>;
}

/** Each group's values on one time axis: the top eight groups (in `order`), the rest as "other". */
export function stackOf(
  rows: readonly SeriesRow[],
  since: number,
  until: number,
  stepMs: number,
  field: 'costUsd' | 'requests',
  order: readonly string[],
): Stack {
  const first = since - (since % stepMs);
  const times: number[] = [];
  for (let t = first; t < until; t += stepMs) times.push(t);
  const top = order.slice(0, 8);
  const names = [...top, ...(order.length > 8 ? ['other'] : [])];
  const values = names.map(() => times.map(() => 0));
  for (const r of rows) {
    const g = r.group ?? '(none)';
    const i = top.includes(g) ? top.indexOf(g) : names.length - 1;
    const j = Math.round((r.bucket - first) / stepMs);
    const row = values[i];
    if (row && j >= 0 && j < times.length) row[j] = (row[j] ?? 0) + r[field];
  }
  return { times, series: names.map((label, i) => ({ label, values: values[i]! })) };
}

/** Running sums of a stack's series, bottom band first: what a stacked area draws. */
export function cumulative(stack: Stack): number[][] {
  const sums: number[][] = [];
  let running = stack.times.map(() => 0);
  for (const s of stack.series) {
    running = running.map((v, i) => v + (s.values[i] ?? 0));
    sums.push(running);
  }
  return sums;
}

/** Whether a key works at `now`. */
export function keyStatus(k: Pick<KeyView, 'revoked' | 'expires'>, now: number): 'revoked' | 'expired' | 'active' {
  if (k.revoked) return 'revoked';
  if (k.expires && k.expires <= now) return 'expired';
  return 'active';
}

/** `rpm 60, concurrency 2`, or `–` for none. */
export const limitsText = (l: Limits): string =>
  LIMITS.filter((k) => l[k])
    .map((k) => `${k} ${l[k]!.toLocaleString('en-US')}`)
    .join(', ') || '–';

/** The live minute on a time axis in seconds, ending at the server's `time`: [times, requests, errors]. */
export function minuteData(
  time: number,
  perSecond: readonly number[],
  errorsPerSecond: readonly number[],
): [number[], number[], number[]] {
  const end = Math.floor(time / 1000);
  return [perSecond.map((_, i) => end - perSecond.length + 1 + i), [...perSecond], [...errorsPerSecond]];
}

/** Requests per second over the last ten seconds of the minute. */
export const recentRate = (perSecond: readonly number[]): number =>
  perSecond.slice(-10).reduce((a, b) => a + b, 0) / 10;
