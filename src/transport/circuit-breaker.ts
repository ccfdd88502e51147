/**
 * A circuit breaker per upstream target: after `threshold` failures in a row a target is skipped
 * for `cooldownMs`; then one trial request is let through (half-open), and a success closes it.
 * In-process state; a shared store can implement the same interface later.
 */
export interface CircuitBreaker {
  /** Whether a request may go to this target now. */
  allow(key: string): boolean;
  success(key: string): void;
  failure(key: string): void;
  /** Keys whose circuit is open, for readiness and metrics. */
  open(): string[];
  /** Every target seen, with its circuit's state (the dashboard's live page). */
  states?(): Array<{ key: string; state: 'closed' | 'open' | 'half-open'; failures: number }>;
}

export function createCircuitBreaker(
  options: { threshold?: number; cooldownMs?: number; now?: () => number } = {},
): CircuitBreaker {
  const threshold = options.threshold ?? 5;
  const cooldownMs = options.cooldownMs ?? 30_000;
  const now = options.now ?? Date.now;
  const state = new Map<string, { failures: number; openedAt: number | undefined; trial: boolean }>();
  const get = (key: string) => {
    let s = state.get(key);
    if (!s) state.set(key, (s = { failures: 0, openedAt: undefined, trial: false }));
    return s;
  };
  return {
    allow(key) {
      const s = state.get(key);
      if (!s || s.openedAt === undefined) return true;
      if (now() - s.openedAt < cooldownMs || s.trial) return false;
      s.trial = true;
      return true;
    },
    success(key) {
      const s = get(key);
      s.failures = 0;
      s.openedAt = undefined;
      s.trial = false;
    },
    failure(key) {
      const s = get(key);
      s.failures++;
      if (s.trial || s.failures >= threshold) {
        s.openedAt = now();
        s.trial = false;
      }
    },
    open() {
      return [...state.entries()]
        .filter(([, s]) => s.openedAt !== undefined && now() - s.openedAt < cooldownMs)
        .map(([k]) => k);
    },
    states() {
      return [...state.entries()].map(([key, s]) => ({
        key,
        state:
          s.openedAt === undefined
            ? ('closed' as const)
            : now() - s.openedAt < cooldownMs && !s.trial
              ? ('open' as const)
              : ('half-open' as const),
        failures: s.failures,
      }));
    },
  };
}
