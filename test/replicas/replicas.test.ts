// Two gateway processes sharing PostgreSQL and Redis, on the emulator: limits and budgets hold
// across them, a revocation reaches the other within a second, and nothing answered is lost or
// written twice through a kill -9, a PostgreSQL outage of 10 s and a Redis restart.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { estimateInputTokens } from '../../src/check/estimate-tokens.js';
import { getDefaultCatalog } from '../../src/catalog/catalog.js';
import type { ControlStore } from '../../src/control/control-store.js';
import { Redis } from 'ioredis';
import { openPostgresControlStore } from '../../src/control/postgres-store.js';
import { sharedServices, testPrefix, testSchema, TEST_REDIS_URL } from '../shared-services.js';
import { admin, callModel, load, metric, startLoad, startProxy, startReplica, until, type Replica } from './harness.js';

const skip = await sharedServices();

describe('two replicas on PostgreSQL and Redis', { skip, timeout: 240_000 }, () => {
  const db = testSchema('replicas');
  const space = testPrefix('replicas');
  let store: ControlStore;
  let pgProxy: Awaited<ReturnType<typeof startProxy>>;
  let redisProxy: Awaited<ReturnType<typeof startProxy>>;
  let a: Replica;
  let b: Replica;
  const settings = () => ({ store: pgProxy.url, redis: redisProxy.url, prefix: space.prefix });

  before(async () => {
    store = await openPostgresControlStore(db.url);
    pgProxy = await startProxy(db.url);
    redisProxy = await startProxy(TEST_REDIS_URL);
    // A refuses model calls while Redis is away; B counts on its own.
    [a, b] = await Promise.all([
      startReplica('A', { ...settings(), failMode: 'failClosed' }),
      startReplica('B', { ...settings(), failMode: 'failOpen' }),
    ]);
  });
  after(async () => {
    await Promise.all([a?.kill('SIGKILL'), b?.kill('SIGKILL')]);
    await pgProxy?.close();
    await redisProxy?.close();
    await store?.close();
    await db.drop();
    await space.drop();
  });

  /** Ledger rows of a key, by request id, with how many times each is there. */
  async function ledgerOf(keyName: string): Promise<Map<string, number>> {
    const rows = await store.requests({ since: 0, until: Date.now() + 60_000, limit: 100_000, key: keyName });
    const seen = new Map<string, number>();
    for (const r of rows) seen.set(r.requestId, (seen.get(r.requestId) ?? 0) + 1);
    return seen;
  }
  /** Waits until both replicas know a new key; answers how many probe calls were granted (they count against its limits). */
  async function known(key: string): Promise<number> {
    let granted = 0;
    for (const r of [a, b]) {
      assert.ok(
        await until(async () => {
          const res = await callModel(r.url, key, { maxTokens: 1, prompt: 'x' });
          if (res.status === 200) granted++;
          return res.status !== 401;
        }, 3000),
        `replica ${r.name} learns of the key`,
      );
    }
    return granted;
  }
  const pendingZero = (r: Replica) =>
    until(async () => (await metric(r.url, 'bedrock_claude_ledger_pending_rows')) === 0, 30_000, 100);

  it('a key revoked through replica A is refused by replica B within 1 s', async () => {
    const created = await admin(a.url, 'POST', '/admin/keys', { name: 'revoke-me' });
    const key = created.json['key'] as string;
    assert.ok(
      await until(async () => (await callModel(b.url, key)).status === 200, 2000),
      'B knows a key created on A',
    );
    const revoked = await admin(a.url, 'DELETE', `/admin/keys/${created.json['id'] as string}`);
    assert.equal(revoked.status, 200);
    const started = Date.now();
    assert.ok(await until(async () => (await callModel(b.url, key)).status === 401, 3000, 20));
    const ms = Date.now() - started;
    assert.ok(ms < 1000, `refused by B ${ms} ms after the revocation`);
    assert.equal((await callModel(a.url, key)).status, 401, 'and by A at once');
  });

  it('a requests-per-minute limit is shared: within one request of the limit across both', async () => {
    const { key, record } = await store.createKey(
      { name: 'rpm-shared', limits: { rpm: 30, concurrency: 1000 } },
      Date.now(),
    );
    const probes = await known(key);
    const trips = async () =>
      ((await metric(a.url, 'bedrock_claude_counter_round_trips')) ?? 0) +
      ((await metric(b.url, 'bedrock_claude_counter_round_trips')) ?? 0);
    const tripsBefore = await trips();
    // 60 at once, alternating replicas.
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => callModel(i % 2 ? a.url : b.url, key, { maxTokens: 5 })),
    );
    const granted = results.filter((r) => r.status === 200).length + probes;
    const refused = results.filter((r) => r.status === 429);
    assert.ok(granted >= 30 && granted <= 31, `${granted} granted of a limit of 30`);
    assert.equal(results.length - refused.length + probes, granted, 'the rest refused with 429');
    // One round trip in and one out for an answered request; one in for a refused one.
    assert.equal((await trips()) - tripsBefore, 2 * (granted - probes) + refused.length, 'Redis round trips');
    // Every counter of the key carries its hash tag (one Redis Cluster slot for one admission).
    const redis = new Redis(TEST_REDIS_URL);
    const names = await redis.keys(`${space.prefix}*${record.id}*`);
    redis.disconnect();
    assert.ok(names.length >= 2 && names.every((n) => n.includes(`{key:${record.id}}`)), names.join(', '));
  });

  it('a small budget used through both at 64 concurrent streams: recorded spend at or under it', async () => {
    const budget = 0.02;
    const { key } = await store.createKey(
      { name: 'small-budget', budget: { usd: budget, period: 'total' } },
      Date.now(),
    );
    const probes = await known(key);
    // A prompt the fake model echoes past max_tokens: every answer costs its full reservation's output.
    const prompt = 'The quick brown fox jumps over the lazy dog. '.repeat(10);
    const results = await load(64, 400, (i) =>
      callModel(i % 2 ? a.url : b.url, key, { stream: true, maxTokens: 50, prompt }),
    );
    await Promise.all([pendingZero(a), pendingZero(b)]);
    const rows = (
      await store.requests({ since: 0, until: Date.now() + 1000, limit: 10_000, key: 'small-budget' })
    ).filter((r) => r.status === 200);
    const spent = rows.reduce((s, r) => s + r.costUsd, 0);
    // Slack: what the input estimate missed, for the requests that were in flight at once.
    const haiku = getDefaultCatalog().data.models.find((m) => m.name === 'claude-haiku-4-5')!;
    const estimate = estimateInputTokens({
      model: 'claude-haiku-4-5',
      max_tokens: 50,
      stream: true,
      messages: [{ role: 'user', content: prompt }],
    });
    const missed = Math.max(0, ...rows.map((r) => r.inputTokens - estimate));
    const slack = (64 * missed * haiku.pricing.input) / 1e6;
    assert.ok(spent <= budget + slack + 1e-9, `spent $${spent.toFixed(6)} of $${budget} (slack $${slack.toFixed(6)})`);
    assert.ok(spent >= budget * 0.9, `the budget was used: $${spent.toFixed(6)}`);
    const refused = results.filter((r) => r.status === 403);
    assert.ok(
      refused.length > 0 && refused.every((r) => r.type === 'permission_error'),
      'the rest refused with 403 permission_error',
    );
    assert.equal(
      results.filter((r) => r.status === 200).length + probes,
      rows.length,
      'every answered request is in the ledger',
    );
    if (process.env['BEDROCK_CLAUDE_TEST_VERBOSE'])
      console.error(
        `budget $${budget}: spent $${spent.toFixed(6)} in ${rows.length} answers, ${refused.length} refused, slack $${slack.toFixed(6)}`,
      );
  });

  it('kill -9 of one replica under load: every complete answer is in the ledger exactly once', async () => {
    const { key } = await store.createKey({ name: 'kill-load', limits: { rpm: 100_000 } }, Date.now());
    await known(key);
    const running = startLoad(32, 5000, (i) => callModel(i % 2 ? a.url : b.url, key, { stream: i % 3 !== 0 }));
    await running.after(200); // under load: 200 answers, then A dies mid-flight
    await a.kill('SIGKILL');
    await running.after(100); // B goes on; calls to A fail at once
    const results = await running.stop();
    // The orchestrator starts it again on its data directory: it replays the journal it left.
    a = await startReplica('A', { ...settings(), failMode: 'failClosed', dataDir: a.dataDir });
    await Promise.all([pendingZero(a), pendingZero(b)]);
    const complete = results.filter((r) => r.complete);
    const seen = await ledgerOf('kill-load');
    const missing = complete.filter((r) => !seen.has(r.id));
    assert.ok(complete.length > 100, `${complete.length} complete answers under load`);
    assert.deepEqual(
      missing.map((r) => r.id),
      [],
      'every complete answer is in the ledger',
    );
    assert.deepEqual(
      [...seen.values()].filter((n) => n !== 1),
      [],
      'each once',
    );
  });

  it('PostgreSQL unreachable for 10 s under load, then back: no ledger row lost or doubled', async () => {
    const { key } = await store.createKey({ name: 'pg-outage', limits: { rpm: 100_000 } }, Date.now());
    await known(key);
    await Promise.all([pendingZero(a), pendingZero(b)]);
    const before = await ledgerOf('pg-outage');
    const running = startLoad(8, 20_000, (i) => callModel(i % 2 ? a.url : b.url, key, { stream: i % 2 === 0 }));
    await running.after(50);
    pgProxy.cut();
    // The outage as the operator sees it: B says its rows wait, and the store is down.
    let ready: { warnings?: string[] } = {};
    const said = await until(async () => {
      ready = (await (await fetch(`${b.url}/readyz`)).json()) as { warnings?: string[] };
      return /ledger: \d+ rows wait/.test((ready.warnings ?? []).join(' '));
    }, 10_000);
    assert.ok(said, '/readyz says the rows wait');
    const up = await metric(b.url, 'bedrock_claude_store_up');
    await running.after(200); // answers go on through the outage, into the spool
    pgProxy.restore();
    await running.after(50);
    const results = await running.stop();
    await Promise.all([pendingZero(a), pendingZero(b)]);
    assert.match(
      (ready.warnings ?? []).join(' '),
      /ledger: \d+ rows wait in .*ledger-spool/,
      '/readyz says the rows wait',
    );
    assert.equal(up, 0, '/metrics says the store is down');
    assert.equal(await metric(b.url, 'bedrock_claude_store_up'), 1, 'and up again');
    // Every answer is a ledger row, refusals too (none are expected: keys stay cached while the store is away).
    const answered = results.filter((r) => r.status > 0);
    assert.ok(
      answered.length > 50 && answered.every((r) => r.status === 200),
      `${answered.length} answered, during the outage too`,
    );
    const seen = await ledgerOf('pg-outage');
    assert.deepEqual(
      answered.filter((r) => !seen.has(r.id)).map((r) => r.id),
      [],
      'no row lost',
    );
    assert.deepEqual(
      [...seen.values()].filter((n) => n !== 1),
      [],
      'none doubled',
    );
    assert.equal(seen.size - before.size, answered.length, 'exactly the answered requests');
  });

  it('Redis restarted under load: A fails closed, B fails open, and limits recover', async () => {
    const { key } = await store.createKey({ name: 'redis-restart', limits: { rpm: 100_000 } }, Date.now());
    await known(key);
    const running = startLoad(8, 20_000, async (i) => ({
      via: i % 2 ? 'A' : 'B',
      at: Date.now(),
      ...(await callModel(i % 2 ? a.url : b.url, key)),
    }));
    await running.after(50);
    // A restart: every connection dropped, and what Redis held is gone (it keeps nothing on disk).
    redisProxy.cut();
    await space.drop();
    // Both have seen Redis go: A refuses (not ready), B counts on its own (ready, with a warning).
    let readyA = await fetch(`${a.url}/readyz`);
    let readyB: { status: string; warnings?: string[] } = { status: '' };
    const seen = await until(async () => {
      readyA = await fetch(`${a.url}/readyz`);
      readyB = (await (await fetch(`${b.url}/readyz`)).json()) as typeof readyB;
      return readyA.status === 503 && /failing open/.test((readyB.warnings ?? []).join(' '));
    }, 10_000);
    assert.ok(seen, 'both replicas say Redis is gone');
    const cutAt = Date.now();
    const countersUp = [
      await metric(a.url, 'bedrock_claude_counters_up'),
      await metric(b.url, 'bedrock_claude_counters_up'),
    ];
    await running.after(100); // the outage, under load
    const backAt = Date.now();
    redisProxy.restore();
    await running.after(50);
    const results = await running.stop();
    const during = results.filter((r) => r.at > cutAt && r.at < backAt);
    assert.ok(
      during.some((r) => r.via === 'A') && during.some((r) => r.via === 'B'),
      'both were called during the outage',
    );
    assert.deepEqual(
      [...new Set(during.filter((r) => r.via === 'A').map((r) => `${r.status} ${r.type}`))],
      ['529 overloaded_error'],
      'A refuses with 529 overloaded_error',
    );
    assert.deepEqual(
      [...new Set(during.filter((r) => r.via === 'B').map((r) => r.status))],
      [200],
      'B serves on local counters',
    );
    assert.equal(readyA.status, 503, 'A is not ready while it fails closed');
    assert.equal(readyB.status, 'ok');
    assert.match((readyB.warnings ?? []).join(' '), /failing open/);
    assert.deepEqual(countersUp, [0, 0], '/metrics says Redis is down');
    // Back: both serve, and a limit is shared again.
    assert.ok(await until(async () => (await callModel(a.url, key)).status === 200, 5000), 'A serves again');
    assert.equal(await metric(a.url, 'bedrock_claude_counters_up'), 1);
    // B finds Redis again on its next admission, and says so: call it until it does (not for a time).
    const bBack = await until(async () => {
      await callModel(b.url, key);
      const ready = (await (await fetch(`${b.url}/readyz`)).json()) as { warnings?: string[] };
      return (
        (await metric(b.url, 'bedrock_claude_counters_up')) === 1 &&
        !/failing open/.test((ready.warnings ?? []).join(' '))
      );
    }, 5000);
    assert.ok(bBack, 'B is back on Redis');
    const limited = await store.createKey({ name: 'after-restart', limits: { rpm: 10 } }, Date.now());
    const probes = await known(limited.key);
    const again = await Promise.all(
      Array.from({ length: 20 }, (_, i) => callModel(i % 2 ? a.url : b.url, limited.key, { maxTokens: 1 })),
    );
    const granted = again.filter((r) => r.status === 200).length + probes;
    assert.ok(granted >= 10 && granted <= 11, `${granted} granted of a shared limit of 10`);
  });
});
