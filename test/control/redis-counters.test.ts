// The Redis counter store on a real server: the same answers as the in-process store for the same
// ops at the same times, atomic under concurrency from two connections, and the fail modes.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { createMemoryCounterStore, type CounterOp, type CounterStore } from '../../src/control/counter-store.js';
import { openRedisCounterStore, withFailMode, type RedisCounterStore } from '../../src/control/redis-counters.js';
import { BedrockClaudeError } from '../../src/errors.js';
import { sharedServices, testPrefix, TEST_REDIS_URL } from '../shared-services.js';

const skip = await sharedServices();

/** The answers as plain data, floats rounded (Lua and JS round the last digit differently). */
const plain = (a: Awaited<ReturnType<CounterStore['admit']>>) =>
  JSON.stringify({
    ...a,
    answers: a.answers.map((x) =>
      typeof x === 'number'
        ? Math.round(x * 1e6) / 1e6
        : { ...x, fullAt: Math.round(x.fullAt), retryAt: Number.isFinite(x.retryAt) ? Math.round(x.retryAt) : 'never' },
    ),
  });

describe('Redis counters', { skip }, () => {
  const space = testPrefix('counters');
  const opened: RedisCounterStore[] = [];
  const open = async () => {
    const s = await openRedisCounterStore(TEST_REDIS_URL, { prefix: space.prefix });
    opened.push(s);
    return s;
  };
  after(async () => {
    for (const s of opened) await s.close();
    await space.drop();
  });

  it('answers every sequence of ops exactly as the in-process store does', async () => {
    const keys = ['rpm:{k:a}:x', 'rpm:{k:a}:y', 'inflight:{k:a}', 'spend:{k:a}:p'];
    const limit = { capacity: 10, perMinute: 60 };
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('bucket' as const),
        key: fc.constantFrom(keys[0]!, keys[1]!),
        limit: fc.constant(limit),
        amount: fc.integer({ min: -5, max: 12 }),
      }),
      fc.record({
        kind: fc.constant('counter' as const),
        key: fc.constant(keys[2]!),
        delta: fc.constantFrom(1, -1),
        max: fc.constant(3),
      }),
      fc.record({
        kind: fc.constant('counter' as const),
        key: fc.constant(keys[3]!),
        delta: fc.constantFrom(0.25, 1.5),
        max: fc.constant(5),
        based: fc.constant(true),
      }),
      fc.record({ kind: fc.constant('seed' as const), key: fc.constant(keys[3]!), value: fc.constantFrom(0, 1, 4) }),
    );
    const step = fc.record({
      ops: fc.array(op, { minLength: 1, maxLength: 4 }),
      advance: fc.integer({ min: 0, max: 3000 }),
      settle: fc.boolean(),
    });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
        const mem = createMemoryCounterStore();
        const red = await openRedisCounterStore(TEST_REDIS_URL, { prefix: `${space.prefix}p${run++}:` });
        try {
          let now = 1_000_000;
          for (const s of steps) {
            now += s.advance;
            const ops = s.ops as CounterOp[];
            if (s.settle) {
              await mem.settle(ops, now);
              await red.settle(ops, now);
            } else {
              assert.equal(plain(await red.admit(ops, now)), plain(await mem.admit(ops, now)));
            }
          }
          for (const k of keys.slice(2)) assert.ok(Math.abs((await red.get(k)) - (await mem.get(k))) < 1e-9, k);
        } finally {
          await red.close();
        }
      }),
      { numRuns: 60, seed: 1601 },
    );
  });

  it('never grants more than the bucket holds, with two replicas asking at once', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    const ops: CounterOp[] = [
      { kind: 'bucket', key: 'rpm:{key:race}:key:race', limit: { capacity: 50, perMinute: 50 }, amount: 1 },
      { kind: 'counter', key: 'inflight:{key:race}', delta: 1, max: 1000 },
    ];
    const now = Date.now();
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).admit(ops, now)));
    assert.equal(answers.filter((x) => x.granted).length, 50);
    assert.equal(await a.get('inflight:{key:race}'), 50, 'only the granted ones took a slot');
    const before = a.roundTrips() + b.roundTrips();
    await a.settle([{ kind: 'counter', key: 'inflight:{key:race}', delta: -1, max: 1000 }], now);
    assert.equal(a.roundTrips() + b.roundTrips() - before, 1, 'one round trip to settle');
  });

  it('rebuilds a missing spend counter once, however many replicas find it missing', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    const spend: CounterOp = { kind: 'counter', key: 'spend:{key:s}:key:s:0', delta: 0.5, max: 10, based: true };
    const first = await a.admit([spend], 0);
    assert.deepEqual([first.granted, first.missing, first.failed], [false, true, 0], 'missing: the caller seeds it');
    // Both replicas read the ledger (3 spent) and seed with their reservation: 3 is added once.
    const seed: CounterOp = { kind: 'seed', key: spend.key, value: 3, ttlMs: 60_000 };
    const both = await Promise.all([a.admit([seed, spend], 0), b.admit([seed, spend], 0)]);
    assert.ok(both.every((x) => x.granted));
    assert.equal(await a.get(spend.key), 4);
  });

  it('fails closed with a 529 overloaded_error, or open on local counters, when Redis cannot be reached', async () => {
    // A port that accepts nothing: a Redis that is down.
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as { port: number }).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const gone = await openRedisCounterStore(`redis://127.0.0.1:${port}`, {
      prefix: space.prefix,
      onError: () => undefined,
    });
    opened.push(gone);
    const ops: CounterOp[] = [
      { kind: 'bucket', key: 'rpm:{key:f}:key:f', limit: { capacity: 2, perMinute: 2 }, amount: 1 },
    ];
    const states: Array<string | undefined> = [];
    const closed = withFailMode(gone, 'closed', (err) => states.push(err?.message));
    await assert.rejects(
      closed.admit(ops, 0),
      (err: unknown) =>
        err instanceof BedrockClaudeError &&
        err.status === 529 &&
        err.type === 'overloaded_error' &&
        /cannot be reached, and it is set to fail closed/.test(err.message),
    );
    assert.ok(closed.down(), 'the outage is known (for /readyz)');
    const open = withFailMode(gone, 'open', () => undefined);
    const granted = [await open.admit(ops, 0), await open.admit(ops, 0), await open.admit(ops, 0)].map(
      (x) => x.granted,
    );
    assert.deepEqual(granted, [true, true, false], 'the local bucket holds the limit on this replica');
    assert.ok((await open.admit(ops, 60_000)).settleWith, 'settled where it was admitted');
  });
});
