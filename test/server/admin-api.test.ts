import assert from 'node:assert/strict';
import { request } from 'undici';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { createCredentialCache } from '../../src/aws/credentials.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { startGateway, type RunningGateway } from '../../src/server/gateway.js';
import { CREDS, tempHome } from '../helpers.js';

const ADMIN = 'admin-key-for-the-tests-0123456789';
let emu: RunningEmulator;
let gw: RunningGateway;

before(async () => {
  emu = await startEmulator({ port: 0 });
  gw = await startGateway({
    port: 0,
    region: 'us-west-2',
    auth: { kind: 'sigv4', credentials: createCredentialCache(CREDS) },
    endpoint: emu.url,
    dataDir: join(tempHome(), 'admin'),
    adminKey: ADMIN,
    retry: { max: 0 },
    logger: pino({ level: 'silent' }),
  });
});
after(async () => {
  await gw.close(100);
  await emu.close();
});

const admin = (path: string, init: { method?: string; body?: unknown; key?: string } = {}) =>
  gw.app.request(
    path,
    Object.assign(
      {
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        headers: { authorization: `Bearer ${init.key ?? ADMIN}` },
      },
      init.body === undefined ? {} : { body: JSON.stringify(init.body) },
    ),
  );
const ask = (key: string) =>
  gw.app.request('/v1/messages', {
    headers: { 'x-api-key': key },
    body: JSON.stringify({
      model: 'claude-haiku-4-5',
      max_tokens: 10,
      messages: [{ role: 'user', content: 'via admin' }],
    }),
  });

describe('admin API', () => {
  it('refuses a wrong admin key, and names the field of bad input', async () => {
    assert.equal((await admin('/admin/keys', { key: 'not-the-admin-key' })).status, 401);
    assert.equal((await gw.app.request('/admin/keys')).status, 401);
    const bad = await admin('/admin/keys', { body: { name: 'x', limits: { rpm: -1 } } });
    assert.equal(bad.status, 400);
    assert.match(bad.json<{ error: { message: string } }>().error.message, /^limits\.rpm: /);
    const unknownField = await admin('/admin/keys', { body: { name: 'x', colour: 'red' } });
    assert.equal(unknownField.status, 400);
    assert.match(unknownField.json<{ error: { message: string } }>().error.message, /colour/);
    assert.equal((await admin('/admin/usage?by=planet')).status, 400);
  });
  it('creates a key that works at once, changes it, revokes it; teams too', async () => {
    const team = await admin('/admin/teams', { body: { name: 'research', budget: { usd: 10, period: 'week' } } });
    assert.equal(team.status, 201);
    const created = await admin('/admin/keys', {
      body: { name: 'eve', user: 'eve', team: 'research', limits: { rpm: 100 } },
    });
    assert.equal(created.status, 201);
    const k = created.json<{ id: string; key: string; name: string; team: string; sha256: string }>();
    assert.match(k.key, /^bck-/);
    assert.equal(k.team, 'research');
    assert.equal((await ask(k.key)).status, 200, 'works on this gateway at once');
    assert.equal((await admin('/admin/keys', { body: { name: 'eve' } })).status, 409);
    const listed = await admin('/admin/keys');
    assert.ok(!listed.text.includes(k.key), 'the secret only in the answer that created it');
    assert.deepEqual(
      listed.json<{ data: Array<{ name: string }> }>().data.map((x) => x.name),
      ['eve'],
    );
    const patched = await admin(`/admin/keys/${k.id}`, { method: 'PATCH', body: { models: ['claude-opus-*'] } });
    assert.deepEqual(patched.json<{ models: string[] }>().models, ['claude-opus-*']);
    assert.equal((await ask(k.key)).status, 403, 'the model list applies at once');
    assert.equal((await admin('/admin/keys/eve')).json<{ id: string }>().id, k.id, 'by name too');
    assert.equal((await admin('/admin/keys/nobody')).status, 404);
    const busy = await admin('/admin/teams/research', { method: 'DELETE' });
    assert.equal(busy.status, 409, 'a team with an active key is not deleted');
    assert.match(busy.json<{ error: { message: string } }>().error.message, /still has 1 key/);
    const revoked = await admin(`/admin/keys/${k.id}`, { method: 'DELETE' });
    assert.ok(revoked.json<{ revoked: number }>().revoked > 0);
    assert.equal((await ask(k.key)).status, 401);
    assert.equal(
      (await admin('/admin/teams/research', { method: 'PATCH', body: { limits: { rpm: 5 } } })).json<{
        limits: { rpm: number };
      }>().limits.rpm,
      5,
    );
    assert.equal((await admin('/admin/teams')).json<{ data: unknown[] }>().data.length, 1);
    assert.equal((await admin('/admin/teams', { body: { name: 'empty' } })).status, 201);
    assert.equal((await admin('/admin/teams/empty', { method: 'DELETE' })).status, 200);
    assert.equal((await admin('/admin/teams/empty')).status, 404);
  });
  it('reports usage exactly as the ledger holds it, and pages through the ledger with a cursor', async () => {
    const k = (await admin('/admin/keys', { body: { name: 'frank', user: 'frank' } })).json<{ key: string }>();
    for (let i = 0; i < 7; i++) assert.equal((await ask(k.key)).status, 200);
    await gw.app.request('/v1/messages', { headers: { 'x-api-key': k.key }, body: '{not json' });
    await gw.flushLedger(); // the ledger is written in batches: write this one now
    const pages: Array<{ requestId: string; keyName: string | null; status: number; costUsd: number }> = [];
    let cursor: string | null = null;
    let n = 0;
    do {
      const page = await admin(`/admin/requests?key=frank&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      const body = page.json<{ data: typeof pages; next_cursor: string | null }>();
      pages.push(...body.data);
      cursor = body.next_cursor;
    } while (cursor && ++n < 10);
    assert.equal(pages.length, 8);
    assert.equal(new Set(pages.map((p) => p.requestId)).size, 8, 'no row twice across pages');
    assert.equal(pages.filter((p) => p.status === 400).length, 1);
    const errors = (await admin('/admin/requests?key=frank&status=400')).json<{ data: unknown[] }>();
    assert.equal(errors.data.length, 1);
    const usage = (await admin('/admin/usage?by=user&since=1h')).json<{
      rows: Array<{ group: string; requests: number; errors: number; costUsd: number }>;
    }>();
    const frank = usage.rows.find((r) => r.group === 'frank')!;
    assert.equal(frank.requests, 8);
    assert.equal(frank.errors, 1);
    assert.equal(Math.round(frank.costUsd * 1e9), Math.round(pages.reduce((a, p) => a + p.costUsd, 0) * 1e9));
    assert.equal((await admin('/admin/requests?cursor=bm9wZQ')).status, 400);
  });
});

describe('admin API without an admin key', () => {
  it('does not exist', async () => {
    const plain = await startGateway({
      port: 0,
      region: 'us-west-2',
      auth: { kind: 'sigv4', credentials: createCredentialCache(CREDS) },
      endpoint: emu.url,
      dataDir: join(tempHome(), 'no-admin'),
      logger: pino({ level: 'silent' }),
    });
    try {
      const res = await plain.app.request('/admin/keys', { headers: { authorization: `Bearer ${ADMIN}` } });
      assert.equal(res.status, 404);
    } finally {
      await plain.close(100);
    }
  });
});

describe('admin API for the dashboard', () => {
  it("serves the dashboard's data: series by hour, latency percentiles, spend against budget, this replica's minute; admin calls stay out of the ledger", async () => {
    const created = (
      await admin('/admin/keys', { body: { name: 'dash', user: 'dee', budget: { usd: 2, period: 'day' } } })
    ).json<{ id: string; key: string }>();
    for (let i = 0; i < 4; i++) assert.equal((await ask(created.key)).status, 200);
    await gw.flushLedger();
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const series = (await admin(`/admin/usage/series?by=key&since=${since}`)).json<{
      step: string;
      rows: Array<{ bucket: number; group: string; requests: number; costUsd: number }>;
    }>();
    assert.equal(series.step, 'hour');
    const mine = series.rows.filter((r) => r.group === 'dash');
    assert.equal(
      mine.reduce((n, r) => n + r.requests, 0),
      4,
    );
    assert.ok(
      mine.every((r) => r.bucket % 3_600_000 === 0),
      'buckets on the hour',
    );
    const usage = (await admin(`/admin/usage?by=key&since=${since}`)).json<{
      rows: Array<{ group: string; costUsd: number }>;
    }>();
    assert.ok(
      Math.abs(mine.reduce((n, r) => n + r.costUsd, 0) - usage.rows.find((r) => r.group === 'dash')!.costUsd) < 1e-12,
      'the series adds up to the report',
    );
    const latency = (await admin(`/admin/usage/latency?since=${since}`)).json<{
      requests: number;
      p50LatencyMs: number;
      p95LatencyMs: number;
    }>();
    assert.ok(latency.requests >= 4 && latency.p50LatencyMs > 0 && latency.p95LatencyMs >= latency.p50LatencyMs);
    const budgets = (await admin('/admin/budgets')).json<{
      data: Array<{ kind: string; name: string; spentUsd: number; budget: { usd: number } }>;
    }>();
    const dash = budgets.data.find((b) => b.name === 'dash')!;
    assert.ok(
      dash.spentUsd > 0 && Math.abs(dash.spentUsd - usage.rows.find((r) => r.group === 'dash')!.costUsd) < 1e-12,
    );
    const live = (await admin('/admin/live')).json<{
      perSecond: number[];
      targets: Array<{ region: string; modelId: string; state: string }>;
    }>();
    assert.equal(live.perSecond.length, 60);
    const overHttp = await request(`${gw.url}/admin/live`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const polled = (await overHttp.body.json()) as { inFlight: number };
    assert.equal(polled.inFlight, 0, 'an idle gateway: the poll does not count itself');
    assert.ok(live.perSecond.reduce((a, b) => a + b, 0) >= 4);
    assert.deepEqual(
      live.targets.map((t) => [t.region, t.state]),
      [['us-west-2', 'closed']],
    );
    const rows = (await admin('/admin/requests?user=dee&limit=100')).json<{
      data: Array<{ route: string; user: string }>;
    }>().data;
    assert.equal(rows.length, 4, 'filtered by user');
    const all = (await admin('/admin/requests?limit=1000')).json<{ data: Array<{ route: string }> }>().data;
    assert.ok(!all.some((r) => r.route.startsWith('/admin')), 'no admin call in the ledger');
    assert.equal((await admin('/admin/usage/series?step=minute')).status, 400);
  });
});
