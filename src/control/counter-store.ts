import { takeTokens, type BucketAnswer, type BucketLimit, type BucketState } from './token-bucket.js';

/**
 * The counters that rate limits, concurrency limits and budget reservations need: in process memory
 * for one gateway, in a shared store (Redis) for several. Async, and atomic per call: two requests
 * that take from the same bucket at once never both get its last token.
 */
export interface CounterStore {
  /** Takes `amount` from a token bucket if it holds that much (a negative amount gives back). */
  take(bucket: string, limit: BucketLimit, amount: number, now: number): Promise<BucketAnswer>;
  /** Adds to a counter if the result stays at or under `max` (concurrency, budget reservations); answers the new value, or undefined when refused. */
  add(counter: string, delta: number, max: number): Promise<number | undefined>;
  /** A counter's value (0 when it has none). */
  get(counter: string): Promise<number>;
}

/** The counters of one gateway process. */
export function createMemoryCounterStore(): CounterStore {
  const buckets = new Map<string, BucketState>();
  const counters = new Map<string, number>();
  return {
    take(bucket, limit, amount, now) {
      const { answer, state } = takeTokens(buckets.get(bucket), limit, amount, now);
      buckets.set(bucket, state);
      return Promise.resolve(answer);
    },
    add(counter, delta, max) {
      const next = (counters.get(counter) ?? 0) + delta;
      if (delta > 0 && next > max) return Promise.resolve(undefined);
      if (next <= 0) counters.delete(counter);
      else counters.set(counter, next);
      return Promise.resolve(Math.max(0, next));
    },
    get(counter) {
      return Promise.resolve(counters.get(counter) ?? 0);
    },
  };
}
