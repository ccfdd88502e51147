/**
 * People and groups in the control plane, with a real OpenID Connect provider: a signed-in person's IdP groups put
 * them in teams (by the config and by the teams' own groups), every team's allow-list and budget applies as well as
 * their own (the tightest wins), an admin sets one person's budget and limits, `/api/oauth/usage` shows their spend
 * against the fullest cap, and each change is in the audit log. The gateway's clock is driven.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openSqliteControlStore } from '../../src/control/sqlite-store.js';
import type { RunningGateway } from '../../src/server/gateway.js';
import { tempHome } from '../helpers.js';
import { browser, signInDevice } from './browser.js';
import { startSignInGateway, type RunningIdp } from './idp.js';

let idp: RunningIdp;
let gw: RunningGateway;
let now = Date.UTC(2026, 11, 6, 12);
const dataDir = tempHome();
const ADMIN_KEY = 'an-admin-key-for-the-people-tests-0123456789';

let close: () => Promise<void>;
before(async () => {
  ({ idp, gw, close } = await startSignInGateway(
    {
      groups: { engineering: 'eng' },
      people: { limits: { rpm: 1000 } },
      roles: { admins: ['claude-admins'], teamAdmins: { engineering: 'eng' } },
    },
    { dataDir, adminKey: ADMIN_KEY, clock: () => now },
  ));
});
after(() => close());

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

  it("a team's allow-list binds its keys too", async () => {
    const made = (await (await admin('POST', 'keys', { name: 'admins-bot', team: 'admins' })).json()) as {
      key: string;
    };
    const send = (model: string) =>
      fetch(`${gw.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': made.key },
        body: JSON.stringify({ model, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
      });
    const refused = await send('claude-opus-4-8');
    assert.equal(refused.status, 403);
    assert.match(
      await message(refused),
      /The key "admins-bot" may not call the model "claude-opus-4-8" \(refused by team "admins"\)/,
    );
    const ok = await send('claude-haiku-4-5');
    assert.equal(ok.status, 200);
    await ok.arrayBuffer();
    assert.equal((await admin('DELETE', 'keys/admins-bot')).status, 200);
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
    const budgets = (await (await admin('GET', 'budgets')).json()) as {
      data: Array<{ kind: string; name: string; budget: { usd: number }; spentUsd: number }>;
    };
    const hers = budgets.data.find((b) => b.kind === 'person')!;
    assert.deepEqual([hers.name, hers.budget.usd], ['alice@example.com', 50], 'her own budget, with the admins');
    assert.ok(hers.spentUsd > 0);
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

/** The dashboard's sign-in in a browser (cookies kept per origin): through the provider, back with a session. */
async function dashboardAs(who: string) {
  const b = browser();
  idp.signInAs(who);
  const { res, seen } = await b.follow(`${gw.url}/ui/login`);
  assert.ok(seen[0]!.startsWith(`${idp.issuer}/auth?`) && /code_challenge_method=S256/.test(seen[0]!), seen[0]);
  assert.equal(res.status, 200);
  assert.match(await res.text(), /signed in/);
  const me = (await (await b.send(`${gw.url}/admin/me`)).json()) as {
    role: string;
    email: string;
    adminOf: string[];
    teams: string[];
    csrf: string;
  };
  const send = (method: string, path: string, body?: unknown, csrf: string | null = me.csrf) =>
    b.send(`${gw.url}${path}`, {
      method,
      headers: Object.assign({ 'content-type': 'application/json' }, csrf === null ? {} : { 'x-csrf-token': csrf }),
      body: body === undefined ? null : JSON.stringify(body),
    });
  return { me, send, b };
}

describe('the dashboard signed in through the identity provider, by role', () => {
  it('a member: their own keys and usage only, every change with the CSRF token, nothing of the admins', async () => {
    const bob = await dashboardAs('u-bob');
    assert.deepEqual([bob.me.role, bob.me.email, bob.me.teams], ['member', 'bob@example.com', []]);
    const noCsrf = await bob.send('POST', '/admin/keys', { name: 'bob-laptop' }, null);
    assert.equal(noCsrf.status, 403);
    assert.match(await message(noCsrf), /CSRF/);
    const wrong = await bob.send('POST', '/admin/keys', { name: 'bob-laptop' }, 'x'.repeat(32));
    assert.equal(wrong.status, 403);
    await wrong.arrayBuffer();
    const made = await bob.send('POST', '/admin/keys', { name: 'bob-laptop' });
    assert.equal(made.status, 201);
    const key = (await made.json()) as { key: string; user: string; team: string | null; id: string };
    assert.deepEqual([key.user, key.team ?? null], ['bob@example.com', null], 'his own, whatever he asked');
    const call = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key.key },
      body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(call.status, 200, 'usable at once');
    await call.arrayBuffer();
    for (const [method, path, body] of [
      ['POST', '/admin/keys', { name: 'for-eng', team: 'eng' }],
      ['POST', '/admin/keys', { name: 'for-alice', user: 'alice@example.com' }],
      ['POST', '/admin/teams', { name: 'bobs' }],
      ['GET', '/admin/audit', undefined],
      ['GET', '/admin/people', undefined],
      ['GET', '/admin/live', undefined],
    ] as const) {
      const r = await bob.send(method, path, body);
      assert.equal(r.status, 403, `${method} ${path}`);
      await r.arrayBuffer();
    }
    const keys = (await (await bob.send('GET', '/admin/keys')).json()) as { data: Array<{ name: string }> };
    assert.deepEqual(
      keys.data.map((k) => k.name),
      ['bob-laptop'],
    );
    await gw.flushLedger();
    const usage = (await (await bob.send('GET', '/admin/usage?by=user')).json()) as { rows: Array<{ group: string }> };
    assert.deepEqual(
      usage.rows.map((r) => r.group),
      ['bob@example.com'],
      "his rows only (alice's are in the ledger too)",
    );
    const requests = (await (await bob.send('GET', '/admin/requests')).json()) as { data: Array<{ user: string }> };
    assert.ok(requests.data.length > 0 && requests.data.every((r) => r.user === 'bob@example.com'));
    const revoked = await bob.send('DELETE', `/admin/keys/${key.id}`);
    assert.equal(revoked.status, 200);
    await revoked.arrayBuffer();
    const [entry] = ((await (await admin('GET', 'audit?limit=1')).json()) as { data: Array<Record<string, string>> })
      .data;
    assert.deepEqual([entry!['action'], entry!['actor'], entry!['via']], ['key.revoke', 'oidc:u-bob', 'dashboard']);
  });

  it("a team admin: their team's keys, budget and usage; not another team's, not its groups", async () => {
    const carol = await dashboardAs('u-carol');
    assert.deepEqual([carol.me.role, carol.me.adminOf, carol.me.teams], ['team-admin', ['eng'], ['eng']]);
    const made = await carol.send('POST', '/admin/keys', { name: 'eng-ci', team: 'eng', user: 'ci' });
    assert.equal(made.status, 201);
    await made.arrayBuffer();
    let r = await carol.send('PATCH', '/admin/teams/eng', { budget: { usd: 20, period: 'month' } });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    r = await carol.send('PATCH', '/admin/teams/eng', { groups: ['everyone'] });
    assert.equal(r.status, 403);
    await r.arrayBuffer();
    r = await carol.send('PATCH', '/admin/teams/admins', { budget: { usd: 1000, period: 'month' } });
    assert.equal(r.status, 404, 'a team she neither runs nor is in');
    await r.arrayBuffer();
    const teams = (await (await carol.send('GET', '/admin/teams')).json()) as { data: Array<{ name: string }> };
    assert.deepEqual(
      teams.data.map((t) => t.name),
      ['eng'],
    );
    const keys = (await (await carol.send('GET', '/admin/keys')).json()) as { data: Array<{ name: string }> };
    assert.deepEqual(
      keys.data.map((k) => k.name),
      ['eng-ci'],
    );
    const requests = (await (await carol.send('GET', '/admin/requests')).json()) as { data: Array<{ team: string }> };
    assert.ok(requests.data.length > 0 && requests.data.every((row) => row.team === 'eng'), "eng's rows (alice's)");
  });

  it('an admin: everything; signing out ends the session, and so does an admin signing the person out', async () => {
    const alice = await dashboardAs('u-alice');
    assert.equal(alice.me.role, 'admin');
    const audit = await alice.send('GET', '/admin/audit?limit=5');
    assert.equal(audit.status, 200);
    await audit.arrayBuffer();
    const out = await alice.send('POST', '/ui/logout', undefined);
    assert.equal(out.status, 204);
    assert.equal((await alice.send('GET', '/admin/me')).status, 401);
    const carol = await dashboardAs('u-carol');
    now += 1; // the sign-out comes after the sign-in (sessions are compared to the ms)
    const signOut = await admin('POST', 'people/oidc:u-carol/sign-out');
    assert.equal(signOut.status, 200);
    assert.equal((await carol.send('GET', '/admin/me')).status, 401);
  });
});

describe('the identity provider asked about working people once a minute', () => {
  it('a person removed from a group loses its teams within a minute; their device refreshes into the new groups', async () => {
    idp.users.set('u-dave', {
      email: 'dave@example.com',
      name: 'Dave',
      groups: ['engineering', 'claude-admins'],
    });
    const first = await signIn('u-dave');
    assert.equal((await call(first.access_token)).status, 200);
    idp.users.get('u-dave')!.groups = ['engineering'];
    now += 30_000;
    assert.equal((await call(first.access_token)).status, 200, 'not asked again within the minute');
    now += 31_000;
    const stale = await call(first.access_token);
    assert.equal(stale.status, 401, 'asked: her groups changed, so her old tokens are refused');
    const refreshed = await fetch(`${gw.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: first.refresh_token }).toString(),
    });
    assert.equal(refreshed.status, 200, 'a groups change is not a sign-out: the device refreshes');
    now += 1_000;
    const fresh = ((await refreshed.json()) as { access_token: string }).access_token;
    const r = await call(fresh);
    assert.equal(r.status, 200, await r.text());
    await gw.flushLedger();
    const store = openSqliteControlStore(dataDir);
    const [row] = await store.requests({ since: 0, until: now + 1, limit: 1, user: 'dave@example.com' });
    await store.close();
    assert.deepEqual([row!.team, row!.teams], ['eng', null], 'no longer in the admins team');
  });

  it('a person removed at the provider is refused within a minute, and cannot refresh', async () => {
    const bob = await signIn('u-bob');
    assert.equal((await call(bob.access_token)).status, 200);
    const saved = idp.users.get('u-bob')!;
    idp.users.delete('u-bob');
    now += 61_000;
    assert.equal((await call(bob.access_token)).status, 401);
    const refreshed = await fetch(`${gw.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: bob.refresh_token }).toString(),
    });
    assert.equal(refreshed.status, 401);
    idp.users.set('u-bob', saved);
  });
});
