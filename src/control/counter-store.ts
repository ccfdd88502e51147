import { takeTokens, type BucketAnswer, type BucketLimit, type BucketState } from './token-bucket.js';

/** One thing a request takes on its way in, or gives back on its way out. */
export type CounterOp =
  /** Take `amount` from a token bucket (negative: give back). */
  | { kind: 'bucket'; key: string; limit: BucketLimit; amount: number }
  /**
   * Add `delta` to a counter, if it stays at or under `max` (concurrency, budget reservations).
   * `based`: the counter must exist (a budget's spend): when it does not, the admission is refused
   * with `missing`, and the caller seeds it from the ledger and asks again.
   */
  | { kind: 'counter'; key: string; delta: number; max: number; based?: boolean }
  /**
   * Set a counter if it does not exist (a budget's spend, rebuilt from the ledger): a replica that comes second changes
   * nothing.
   */
  | { kind: 'seed'; key: string; value: number; ttlMs?: number };

/** What an admission answered: granted (all applied) or refused at `failed` (none applied). */
export interface Admission {
  granted: boolean;
  /** The index of the op that was refused. */
  failed: number | undefined;
  /** The op at `failed` is a `based` counter that does not exist: seed it and ask again. */
  missing?: boolean;
  /**
   * Where this admission's settlement goes, when not to the store's own `settle` (counted locally while Redis was
   * away).
   */
  settleWith?: (ops: readonly CounterOp[], now: number) => Promise<void>;
  /** Per op: a bucket's answer, or a counter's value (after, or as it stood when refused). */
  answers: Array<BucketAnswer | number>;
}

/**
 * The counters that rate limits, concurrency limits and budget reservations need: in process memory
 * for one gateway, in a shared store (Redis) for several. One call on the way in (`admit`, all or
 * nothing, atomic: two requests never both get the last token) and one on the way out (`settle`):
 * one round trip each with a shared store. Keys of one admission share a hash tag (`{team:x}`), so a
 * Redis Cluster holds them in one slot.
 */
export interface CounterStore {
  admit(ops: readonly CounterOp[], now: number): Promise<Admission>;
  /** Applies ops without their limits (give-backs, settlements to the real amounts). */
  settle(ops: readonly CounterOp[], now: number): Promise<void>;
  /** A counter's value (0 when it has none). */
  get(key: string): Promise<number>;
}

/** The counters of one gateway process. Atomic because each call runs to its end before another starts. */
export function createMemoryCounterStore(): CounterStore {
  const buckets = new Map<string, BucketState>();
  const counters = new Map<string, number>();
  // Counters are kept at 0 rather than deleted: a budget's spend of 0 is known, not missing.
  const addTo = (key: string, delta: number) => {
    const next = Math.max(0, (counters.get(key) ?? 0) + delta);
    counters.set(key, next);
    return next;
  };
  return {
    admit(ops, now) {
      const answers: Array<BucketAnswer | number> = [];
      const states: Array<BucketState | undefined> = [];
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i]!;
        if (op.kind === 'seed') {
          if (!counters.has(op.key)) counters.set(op.key, Math.max(0, op.value));
          answers.push(counters.get(op.key) ?? 0);
          states.push(undefined);
        } else if (op.kind === 'bucket') {
          const { answer, state } = takeTokens(buckets.get(op.key), op.limit, op.amount, now);
          answers.push(answer);
          states.push(state);
          if (!answer.granted) return Promise.resolve({ granted: false, failed: i, answers });
        } else {
          if (op.based && !counters.has(op.key))
            return Promise.resolve({ granted: false, failed: i, missing: true, answers });
          const value = counters.get(op.key) ?? 0;
          answers.push(value + op.delta);
          states.push(undefined);
          if (op.delta > 0 && value + op.delta > op.max) {
            answers[i] = value;
            return Promise.resolve({ granted: false, failed: i, answers });
          }
        }
      }
      // Every op passed: apply them all.
      ops.forEach((op, i) => {
        if (op.kind === 'bucket') buckets.set(op.key, states[i]!);
        else if (op.kind === 'counter') answers[i] = addTo(op.key, op.delta);
      });
      return Promise.resolve({ granted: true, failed: undefined, answers });
    },
    settle(ops, now) {
      for (const op of ops) {
        if (op.kind === 'bucket') buckets.set(op.key, takeTokens(buckets.get(op.key), op.limit, op.amount, now).state);
        else if (op.kind === 'counter' && counters.has(op.key)) addTo(op.key, op.delta);
      }
      return Promise.resolve();
    },
    get: (key) => Promise.resolve(counters.get(key) ?? 0),
  };
}
