import type { Budget, BudgetPeriod } from './records.js';
import type { ControlStore } from './control-store.js';

// A formatter costs tens of microseconds to make: one per time zone, kept.
const formatters = new Map<string, Intl.DateTimeFormat>();

/** The parts of a wall-clock instant in a time zone. */
function partsIn(
  at: number,
  timeZone: string,
): { year: number; month: number; day: number; weekday: number; hour: number; minute: number; second: number } {
  let f = formatters.get(timeZone);
  if (!f)
    formatters.set(
      timeZone,
      (f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        weekday: 'short',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
        hourCycle: 'h23',
      })),
    );
  const p: Record<string, string> = {};
  for (const { type, value } of f.formatToParts(at)) p[type] = value;
  const weekday = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(p['weekday']!);
  return {
    year: Number(p['year']),
    month: Number(p['month']),
    day: Number(p['day']),
    weekday,
    hour: Number(p['hour']),
    minute: Number(p['minute']),
    second: Number(p['second']),
  };
}

/** The instant a local date's midnight falls on in a time zone (DST-safe: corrected by the zone's offset there). */
function localMidnight(year: number, month: number, day: number, timeZone: string): number {
  let guess = Date.UTC(year, month - 1, day);
  for (let i = 0; i < 3; i++) {
    const p = partsIn(guess, timeZone);
    const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
    const target = Date.UTC(year, month - 1, day);
    if (asUtc === target) break;
    guess += target - asUtc;
  }
  return guess;
}

/**
 * The period a budget counts spend in, at `now`: from its start (a calendar boundary in `timeZone`:
 * midnight, Monday, the 1st) to the next one. `total` never resets.
 *
 * @example
 * ```ts
 * budgetPeriod('month', Date.UTC(2026, 10, 20), 'UTC'); // { start: 2026-11-01T00:00Z, end: 2026-12-01T00:00Z }
 * ```
 */
export function budgetPeriod(period: BudgetPeriod, now: number, timeZone = 'UTC'): { start: number; end: number } {
  if (period === 'total') return { start: 0, end: Number.POSITIVE_INFINITY };
  const p = partsIn(now, timeZone);
  if (period === 'day') {
    const start = localMidnight(p.year, p.month, p.day, timeZone);
    const next = new Date(Date.UTC(p.year, p.month - 1, p.day + 1));
    return { start, end: localMidnight(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), timeZone) };
  }
  if (period === 'week') {
    const monday = new Date(Date.UTC(p.year, p.month - 1, p.day - p.weekday));
    const after = new Date(Date.UTC(p.year, p.month - 1, p.day - p.weekday + 7));
    return {
      start: localMidnight(monday.getUTCFullYear(), monday.getUTCMonth() + 1, monday.getUTCDate(), timeZone),
      end: localMidnight(after.getUTCFullYear(), after.getUTCMonth() + 1, after.getUTCDate(), timeZone),
    };
  }
  const next = new Date(Date.UTC(p.year, p.month, 1));
  return {
    start: localMidnight(p.year, p.month, 1, timeZone),
    end: localMidnight(next.getUTCFullYear(), next.getUTCMonth() + 1, 1, timeZone),
  };
}

/** {@link budgetPeriod}, remembered until the period ends: what the request path calls. */
export function createPeriodClock(timeZone: string) {
  const known = new Map<BudgetPeriod, { start: number; end: number }>();
  return (period: BudgetPeriod, now: number): { start: number; end: number } => {
    const p = known.get(period);
    if (p && now >= p.start && now < p.end) return p;
    const fresh = budgetPeriod(period, now, timeZone);
    known.set(period, fresh);
    return fresh;
  };
}

/** Dollars as a refusal says them, every amount to the same places: `$0.02`, `$0.01888`, `$0.00112`, `$120.50`. */
const usd = (n: number) => `$${n >= 100 ? n.toFixed(2) : n.toFixed(6).replace(/(\.\d\d\d*?)0+$/, '$1')}`;

/**
 * The refusal's words: whose budget, how much of it is spent (with the requests in flight), what
 * this request could cost at most, and when the budget starts again.
 */
export function budgetRefusal(
  whose: string,
  spent: number,
  budget: number,
  period: BudgetPeriod,
  resetsAt: number,
  reservation: number,
): string {
  const when = Number.isFinite(resetsAt)
    ? `it resets at ${new Date(resetsAt).toISOString()}`
    : 'it does not reset (period total)';
  const left = Math.max(0, budget - spent);
  const head =
    spent >= budget
      ? `The budget of ${whose} is spent`
      : `This request could cost up to ${usd(reservation)}, more than the ${usd(left)} left of the budget of ${whose}`;
  return (
    `${head}: ${usd(spent)} of ${usd(budget)} this ${period === 'total' ? 'lifetime' : period} (with the ` +
    `requests in flight); ${when}.`
  );
}

/**
 * Why a key or a team may not be deleted now: it spent in its open period (its budget's, else this calendar month),
 * and a key or team made again under the name would start that period afresh. Undefined when it may go.
 */
export async function deletionRefusal(
  store: Pick<ControlStore, 'spentSince'>,
  what: { kind: 'key' | 'team'; id: string; name: string; budget: Budget | undefined },
  now: number,
  timeZone = 'UTC',
): Promise<string | undefined> {
  const period = budgetPeriod(what.budget?.period ?? 'month', now, timeZone);
  const spent = await store.spentSince(what.kind, what.id, period.start);
  if (spent <= 0) return undefined;
  const open = what.budget ? `its ${what.budget.period}'s budget period` : 'this month';
  return (
    `the ${what.kind} "${what.name}" spent $${spent.toFixed(6)} since ${new Date(period.start).toISOString()} ` +
    `(${open}); deleting it now would let one made again under its name start afresh`
  );
}

/** Sums of float prices to the nano-dollar: `0.036656`, not `0.036655999999999994`. */
export const roundUsd = (usd: number): number => Math.round(usd * 1e9) / 1e9;
