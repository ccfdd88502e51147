/**
 * People and groups in the control plane, with a real OpenID Connect provider: a signed-in person's IdP groups put
 * them in teams (by the config and by the teams' own groups), every team's allow-list and budget applies as well as
 * their own (the tightest wins), an admin sets one person's budget and limits, `/api/oauth/usage` shows their spend
 * against the fullest cap, and each change is in the audit log. The gateway's clock is driven.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openSqliteControlStore } from '../../src/control/sqlite-store.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import type { RunningGateway } from '../../src/server/gateway.js';
import { gatewayOn, tempHome } from '../helpers.js';
import { signInDevice } from './browser.js';
import { freePort, oidcConfigFor, startIdp, type RunningIdp } from './idp.js';

let emu: RunningEmulator;
let idp: RunningIdp;
let gw: RunningGateway;
let now = Date.UTC(2026, 11, 6, 12);
const dataDir = tempHome();
const ADMIN_KEY = 'an-admin-key-for-the-people-tests-0123456789';

before(async () => {
  emu = await startEmulator({ port: 0 });
  const port = await freePort();
  idp = await startIdp(`http://127.0.0.1:${port}/oauth/callback`);
  gw = await gatewayOn(emu.url, {
    port,
    dataDir,
    adminKey: ADMIN_KEY,
    clock: () => now,
    identity: {
      oidc: oidcConfigFor(idp),
      session: { jwtSecret: 'a-test-jwt-secret-of-more-than-32-characters', ttlHours: 1 },
      groups: { engineering: 'eng' },
      people: { limits: { rpm: 1000 } },
    },
  });
});
after(async () => {
  await gw.close(100);
  await idp.close();
  await emu.close();
});

const admin = (method: string, path: string, body?: unknown) =>
  fetch(`${gw.url}/admin/${path}`, {
    method,
    headers: { 'content-type': 'application/json', 'x-api-key': ADMIN_KEY },
    body: body === undefined ? null : JSON.stringify(body),
  });
const call = (token: string, model = 'claude-haiku-4-5', maxTokens = 10) =>
  fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ model, max_tokens: maxTokens, messages: [{ role: 'user', content: 'hi' }] }),
  });
const signIn = (who: string) => signInDevice(gw.url, idp, who, () => (now += 5_000));
const message = async (r: Response) => ((await r.json()) as { error: { message: string } }).error.message;
const usage = async (token: string) => {
  const r = await fetch(`${gw.url}/api/oauth/usage`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  return (await r.json()) as {
    extra_usage: Record<string, unknown>;
    limits: Array<{ group: string; percent: number; severity: string; is_active: boolean; resets_at: string }>;
  };
};

describe('people and groups', () => {
  let alice = '';

  it("a person's IdP groups put them in teams: the config's first, then the teams that list a group", async () => {
    for (const team of [
      { name: 'eng' },
      { name: 'admins', groups: ['claude-admins'], models: ['claude-haiku-*', 'claude-sonnet-*'] },
    ]) {
      const r = await admin('POST', 'teams', team);
      assert.equal(r.status, 201, await r.text());
    }
    alice = (await signIn('u-alice')).access_token;
    const r = await call(alice);
    assert.equal(r.status, 200, await r.text());
    await gw.flushLedger();
    const store = openSqliteControlStore(dataDir);
    const [row] = await store.requests({ since: 0, until: now + 1, limit: 1, user: 'alice@example.com' });
    await store.close();
    assert.deepEqual([row!.team, row!.teams, row!.keyId], ['eng', '["admins"]', 'oidc:u-alice']);
    const people = (await (await admin('GET', 'people')).json()) as { data: Array<Record<string, unknown>> };
    assert.deepEqual(
      people.data.map((p) => [p['email'], p['subject'], p['groups']]),
      [['alice@example.com', 'u-alice', ['engineering', 'claude-admins']]],
    );
  });

  it("every team's allow-list applies: a model one of her teams does not allow is refused, naming the team", async () => {
    const refused = await call(alice, 'claude-opus-4-8');
    assert.equal(refused.status, 403);
    assert.match(
      await message(refused),
      /alice@example.com may not call the model "claude-opus-4-8" \(refused by team "admins"\)/,
    );
    const listed = (await (
      await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${alice}` } })
    ).json()) as {
      data: Array<{ id: string }>;
    };
    assert.ok(
      listed.data.length > 0 && listed.data.every((m) => /^claude-(haiku|sonnet)-/.test(m.id)),
      JSON.stringify(listed),
    );
  });

  it("a team's budget binds its members through their group; the tightest of person and teams wins", async () => {
    let r = await admin('PATCH', 'teams/admins', { budget: { usd: 0.00001, period: 'month' } });
    assert.equal(r.status, 200, await r.text());
    const refused = await call(alice);
    assert.equal(refused.status, 403);
    assert.match(await message(refused), /budget of team "admins"/);
    r = await admin('PATCH', 'teams/admins', { budget: { usd: 100, period: 'month' } });
    assert.equal(r.status, 200);
    r = await admin('PATCH', 'people/alice@example.com', { budget: { usd: 0.00001, period: 'day' } });
    assert.equal(r.status, 200, await r.text());
    const own = await call(alice);
    assert.equal(own.status, 403);
    assert.match(await message(own), /budget of person "alice@example.com"/);
    r = await admin('PATCH', 'people/oidc:u-alice', { budget: { usd: 50, period: 'week' }, limits: { rpm: 2 } });
    assert.equal(r.status, 200);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await call(alice);
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    assert.deepEqual(statuses, [200, 200, 429], 'her own rpm (2) is tighter than the people default (1000)');
  });

  it("/api/oauth/usage: her spend against the fullest cap, each cap's period and reset; none for a person without", async () => {
    await gw.flushLedger();
    const mine = await usage(alice);
    assert.deepEqual(
      mine.limits.map((l) => [l.group, l.is_active]).sort(),
      [
        ['monthly', false],
        ['weekly', true],
      ],
      'her own weekly $50 and the admins team monthly $100 (eng has no budget)',
    );
    assert.equal(mine.extra_usage['monthly_limit'], 5000, 'the active cap in cents');
    assert.equal(mine.extra_usage['currency'], 'USD');
    const weekly = mine.limits.find((l) => l.group === 'weekly')!;
    assert.equal(weekly.resets_at, '2026-12-07T00:00:00.000Z', 'the next Monday, UTC');
    assert.equal(weekly.severity, 'normal');
    const bob = (await signIn('u-bob')).access_token;
    const none = await usage(bob);
    assert.deepEqual(none.limits, []);
    assert.deepEqual(
      [none.extra_usage['monthly_limit'], none.extra_usage['used_credits'], Object.keys(none.extra_usage).sort()],
      [null, 0, ['currency', 'daily', 'is_enabled', 'monthly_limit', 'used_credits', 'utilization', 'weekly']],
    );
    const bad = await fetch(`${gw.url}/api/oauth/usage`, { headers: { authorization: 'Bearer nope' } });
    assert.equal(bad.status, 401);
  });

  it('the audit log has each change: who, through what, from where, before and after; no route edits it', async () => {
    const page = (await (await admin('GET', 'audit?limit=50')).json()) as {
      data: Array<{
        actor: string;
        via: string;
        address: string;
        action: string;
        target: string;
        before: unknown;
        after: unknown;
      }>;
    };
    const actions = page.data.map((e) => `${e.action} ${e.target}`);
    assert.deepEqual(actions.slice(0, 4), [
      'person.update oidc:u-alice',
      'person.update oidc:u-alice',
      'team.update admins',
      'team.update admins',
    ]);
    assert.ok(actions.includes('team.create eng') && actions.includes('team.create admins'));
    const last = page.data[0]!;
    assert.deepEqual([last.actor, last.via], ['admin-key', 'api']);
    assert.match(last.address, /127\.0\.0\.1/);
    assert.deepEqual((last.before as { budget: unknown }).budget, { usd: 0.00001, period: 'day' });
    assert.deepEqual((last.after as { limits: { rpm: number } }).limits.rpm, 2);
    for (const method of ['DELETE', 'PATCH', 'POST', 'PUT']) {
      const r = await admin(method, 'audit', {});
      assert.ok(r.status >= 400 && r.status < 500, `${method} /admin/audit: ${r.status}`);
      await r.arrayBuffer();
    }
    const again = (await (await admin('GET', 'audit?limit=50')).json()) as { data: unknown[] };
    assert.deepEqual(again.data, page.data, 'unchanged');
    const noKey = await fetch(`${gw.url}/admin/audit`);
    assert.equal(noKey.status, 401);
  });
});
