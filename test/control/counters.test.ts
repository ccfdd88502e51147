import assert from 'node:assert/strict';
import { budgetPeriod, createPeriodClock } from '../../src/control/budget.js';
import { describe, it } from 'node:test';
import { createMemoryCounterStore } from '../../src/control/counter-store.js';
import { createStaticKeyStore } from '../../src/control/key-store.js';
import { refill, takeTokens } from '../../src/control/token-bucket.js';
import { createGatewayKey } from '../../src/control/gateway-keys.js';

const limit = { capacity: 60, perMinute: 60 };

describe('token bucket (pure)', () => {
  it('starts full, refills continuously, never past its capacity', () => {
    assert.equal(refill(undefined, limit, 0), 60);
    assert.equal(refill({ tokens: 0, at: 0 }, limit, 30_000), 30);
    assert.equal(refill({ tokens: 50, at: 0 }, limit, 600_000), 60);
    assert.equal(refill({ tokens: 10, at: 1000 }, limit, 500), 10, 'a clock that went back refills nothing');
  });
  it('grants while tokens last, then says when the same take would be granted', () => {
    let state;
    for (let i = 0; i < 60; i++) {
      const r = takeTokens(state, limit, 1, 0);
      assert.ok(r.answer.granted);
      state = r.state;
    }
    const refused = takeTokens(state, limit, 1, 0);
    assert.equal(refused.answer.granted, false);
    assert.equal(refused.answer.remaining, 0);
    assert.equal(refused.answer.retryAt, 1000, 'one token a second');
    assert.equal(refused.answer.fullAt, 60_000);
    const later = takeTokens(refused.state, limit, 1, 1000);
    assert.ok(later.answer.granted);
  });
  it('gives back a negative amount (a settlement under the estimate), up to the capacity', () => {
    const { state } = takeTokens(undefined, { capacity: 1000, perMinute: 1000 }, 800, 0);
    const back = takeTokens(state, { capacity: 1000, perMinute: 1000 }, -300, 0);
    assert.equal(back.answer.remaining, 500);
    assert.equal(takeTokens(back.state, { capacity: 1000, perMinute: 1000 }, -5000, 0).answer.remaining, 1000);
  });
  it('a take larger than the bucket can ever hold is never granted', () => {
    const r = takeTokens(undefined, limit, 61, 0);
    assert.equal(r.answer.granted, false);
    assert.equal(r.answer.retryAt, Number.POSITIVE_INFINITY);
  });
});

describe('in-process counter store', () => {
  it('admits all or nothing, and concurrent admissions never share the last token', async () => {
    const store = createMemoryCounterStore();
    const take = { kind: 'bucket' as const, key: 'rpm:key:a', limit, amount: 1 };
    const answers = await Promise.all(Array.from({ length: 100 }, () => store.admit([take], 0)));
    assert.equal(answers.filter((a) => a.granted).length, 60);
    assert.ok(
      (await store.admit([{ kind: 'bucket', key: 'rpm:key:b', limit, amount: 1 }], 0)).granted,
      'another key has its own bucket',
    );
    // Refused on its second op: the first is not applied either.
    const both = await store.admit(
      [
        { kind: 'bucket', key: 'rpm:key:c', limit, amount: 1 },
        { kind: 'bucket', key: 'rpm:key:a', limit, amount: 1 },
      ],
      0,
    );
    assert.deepEqual([both.granted, both.failed], [false, 1]);
    const c = await store.admit([{ kind: 'bucket', key: 'rpm:key:c', limit, amount: 60 }], 0);
    assert.ok(c.granted, 'rpm:key:c still had all 60');
  });
  it('adds to a counter up to a maximum (concurrency, reservations), seeds once, and settles without limits', async () => {
    const store = createMemoryCounterStore();
    const one = { kind: 'counter' as const, key: 'inflight:a', delta: 1, max: 2 };
    assert.deepEqual((await store.admit([one], 0)).answers, [1]);
    assert.deepEqual((await store.admit([one], 0)).answers, [2]);
    const refused = await store.admit([one], 0);
    assert.deepEqual([refused.granted, refused.answers], [false, [2]], 'over the maximum: refused, unchanged');
    await store.settle([{ kind: 'counter', key: 'inflight:a', delta: -2, max: 2 }], 0);
    assert.equal(await store.get('inflight:a'), 0);
    await store.admit([{ kind: 'seed', key: 'spend:a', value: 4.5 }], 0);
    await store.admit([{ kind: 'seed', key: 'spend:a', value: 99 }], 0);
    assert.equal(await store.get('spend:a'), 4.5, 'a seed does not overwrite');
    assert.equal((await store.admit([{ kind: 'counter', key: 'spend:a', delta: 0.6, max: 5 }], 0)).granted, false);
    await store.settle([{ kind: 'bucket', key: 'rpm:x', limit, amount: -5 }], 0);
    assert.equal(
      (await store.admit([{ kind: 'bucket', key: 'rpm:x', limit, amount: 60 }], 0)).granted,
      true,
      'a give-back never overfills',
    );
  });
});

describe('static key store', () => {
  it('finds a configured key by its secret, and nothing for another', async () => {
    const alice = createGatewayKey('alice');
    const store = createStaticKeyStore([alice.entry]);
    assert.equal(store.enabled(), true);
    assert.equal((await store.find(alice.key))?.name, 'alice');
    assert.equal(await store.find('bck-not-a-key'), undefined);
    assert.equal(await store.find(undefined), undefined);
    assert.equal(createStaticKeyStore([]).enabled(), false);
  });
});

describe('budget periods', () => {
  it('start at calendar boundaries in the configured time zone, DST included', () => {
    const at = Date.UTC(2026, 10, 20, 3, 30); // 2026-11-20 03:30 UTC: still the 19th in New York
    const iso = (p: { start: number; end: number }) => [
      new Date(p.start).toISOString(),
      Number.isFinite(p.end) ? new Date(p.end).toISOString() : 'never',
    ];
    assert.deepEqual(iso(budgetPeriod('day', at, 'UTC')), ['2026-11-20T00:00:00.000Z', '2026-11-21T00:00:00.000Z']);
    assert.deepEqual(iso(budgetPeriod('day', at, 'America/New_York')), [
      '2026-11-19T05:00:00.000Z',
      '2026-11-20T05:00:00.000Z',
    ]);
    assert.deepEqual(
      iso(budgetPeriod('week', at, 'UTC')),
      ['2026-11-16T00:00:00.000Z', '2026-11-23T00:00:00.000Z'],
      'weeks start on Monday',
    );
    assert.deepEqual(iso(budgetPeriod('month', at, 'Asia/Tokyo')), [
      '2026-10-31T15:00:00.000Z',
      '2026-11-30T15:00:00.000Z',
    ]);
    // New York leaves daylight saving time on 2026-11-01: that day has 25 hours.
    assert.deepEqual(iso(budgetPeriod('day', Date.UTC(2026, 10, 1, 12), 'America/New_York')), [
      '2026-11-01T04:00:00.000Z',
      '2026-11-02T05:00:00.000Z',
    ]);
    assert.deepEqual(iso(budgetPeriod('total', at, 'UTC')), ['1970-01-01T00:00:00.000Z', 'never']);
    const clock = createPeriodClock('UTC');
    assert.equal(clock('day', at), clock('day', at + 1000), 'kept while the period lasts');
    assert.notEqual(clock('day', at), clock('day', at + 86_400_000));
  });
});
