/** A token bucket's configuration: it holds up to `capacity` and refills continuously at `perMinute`. */
export interface BucketLimit {
  capacity: number;
  perMinute: number;
}

/** A bucket's state: the tokens it held at `at` (ms). */
export interface BucketState {
  tokens: number;
  at: number;
}

/** What a take answered: whether it was granted, what is left, and when the bucket is full again (ms). */
export interface BucketAnswer {
  granted: boolean;
  remaining: number;
  /** When the bucket is full again. */
  fullAt: number;
  /** When a take of the same amount would be granted (`now` when it was). */
  retryAt: number;
}

/** The tokens a bucket holds at `now`: what it held, plus the refill since, up to its capacity. */
export function refill(state: BucketState | undefined, limit: BucketLimit, now: number): number {
  if (!state) return limit.capacity;
  const elapsed = Math.max(0, now - state.at);
  return Math.min(limit.capacity, state.tokens + (elapsed * limit.perMinute) / 60_000);
}

/**
 * Takes `amount` tokens if the bucket holds them (the Anthropic API's rate limits: requests, input
 * and output tokens per minute, refilled continuously). Pure: the store keeps `state` and applies
 * the new one atomically. A negative amount gives tokens back (a settlement below the estimate).
 *
 * @example
 * ```ts
 * const { answer, state } = takeTokens(undefined, { capacity: 60, perMinute: 60 }, 1, Date.now());
 * answer.granted; // true, 59 left
 * ```
 */
export function takeTokens(
  state: BucketState | undefined,
  limit: BucketLimit,
  amount: number,
  now: number,
): { answer: BucketAnswer; state: BucketState } {
  const held = refill(state, limit, now);
  const granted = amount <= 0 || held >= amount;
  const tokens = granted ? Math.min(limit.capacity, held - amount) : held;
  const ratePerMs = limit.perMinute / 60_000;
  const fullAt = ratePerMs > 0 ? now + Math.max(0, limit.capacity - tokens) / ratePerMs : Number.POSITIVE_INFINITY;
  const retryAt = granted
    ? now
    : ratePerMs > 0 && amount <= limit.capacity
      ? now + (amount - held) / ratePerMs
      : Number.POSITIVE_INFINITY;
  return {
    answer: { granted, remaining: Math.max(0, Math.floor(tokens)), fullAt, retryAt },
    state: { tokens, at: now },
  };
}
