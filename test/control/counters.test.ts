import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryCounterStore } from '../../src/control/counter-store.js';
import { createStaticKeyStore } from '../../src/control/key-store.js';
import { refill, takeTokens } from '../../src/control/token-bucket.js';
import { createGatewayKey } from '../../src/server/gateway-keys.js';

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
  it('keeps one bucket per name, and concurrent takes never share the last token', async () => {
    const store = createMemoryCounterStore();
    const answers = await Promise.all(Array.from({ length: 100 }, () => store.take('key:a:rpm', limit, 1, 0)));
    assert.equal(answers.filter((a) => a.granted).length, 60);
    assert.ok((await store.take('key:b:rpm', limit, 1, 0)).granted, 'another key has its own bucket');
  });
  it('adds to a counter up to a maximum (concurrency), and goes back to nothing', async () => {
    const store = createMemoryCounterStore();
    assert.equal(await store.add('inflight:a', 1, 2), 1);
    assert.equal(await store.add('inflight:a', 1, 2), 2);
    assert.equal(await store.add('inflight:a', 1, 2), undefined, 'over the maximum: refused, unchanged');
    assert.equal(await store.get('inflight:a'), 2);
    await store.add('inflight:a', -1, 2);
    await store.add('inflight:a', -1, 2);
    assert.equal(await store.get('inflight:a'), 0);
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
