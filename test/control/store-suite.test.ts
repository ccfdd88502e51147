// One suite, two stores: every call of the control service against the embedded store (SQLite)
// and the shared one (PostgreSQL, skipped loudly without it; required with CI=true). The two differ
// only in their SQL port and their ledger's own SQL, so they must give the same answers.
// Moved here from store.test.ts and postgres-store.test.ts (keys and teams, ledger and reports,
// retention), with what they asserted; the typed errors and the dashboard's queries are new here.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ControlStore, LedgerRow } from '../../src/control/control-store.js';
import { ledgerRowOf } from '../../src/control/ledger-columns.js';
import { openPostgresControlStore } from '../../src/control/postgres-store.js';
import { openSqliteControlStore } from '../../src/control/sqlite-store.js';
import { StoreError } from '../../src/control/store-errors.js';
import { newUsageRecord } from '../../src/control/usage-record.js';
import { tempHome } from '../helpers.js';
import { sharedServices, TEST_DATABASE_URL, testSchema } from '../shared-services.js';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import pg from 'pg';

const skipPostgres = await sharedServices();
const T0 = Date.UTC(2026, 10, 20, 12);
const DAY = 86_400_000;

function row(id: string, extra: Partial<LedgerRow> = {}): LedgerRow {
  const u = newUsageRecord('POST', 'anthropic', '/v1/messages', '/v1/messages', T0);
  u.requestId = id;
  u.status = 200;
  return Object.assign(ledgerRowOf(u), extra);
}

const kind = (err: unknown) => (err instanceof StoreError ? err.kind : `not a StoreError: ${String(err)}`);

interface Opened {
  store: ControlStore;
  drop(): Promise<void>;
  /** Runs SQL on the database itself, past the store (what someone with the database's password could do). */
  raw(sql: string, params: unknown[]): Promise<void>;
}

const STORES: Array<{ name: string; skip: string | undefined; open(): Promise<Opened> }> = [
  {
    name: 'SQLite',
    skip: undefined,
    async open() {
      const dir = tempHome();
      return {
        store: openSqliteControlStore(dir),
        drop: async () => undefined,
        async raw(sql: string, params: unknown[]) {
          const db = new Database(join(dir, 'control.db'));
          try {
            db.prepare(sql).run(...params);
          } finally {
            db.close();
          }
        },
      };
    },
  },
  {
    name: 'PostgreSQL',
    skip: skipPostgres,
    async open() {
      const db = testSchema('suite');
      return {
        store: await openPostgresControlStore(db.url),
        drop: () => db.drop(),
        async raw(sql: string, params: unknown[]) {
          const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
          await client.connect();
          try {
            let n = 0;
            await client.query(`SET search_path TO ${db.schema}`);
            await client.query(
              sql.replace(/\?/g, () => `$${++n}`),
              params,
            );
          } finally {
            await client.end();
          }
        },
      };
    },
  },
];

for (const impl of STORES) {
  describe(`control store on ${impl.name}`, { skip: impl.skip }, () => {
    let store: ControlStore;
    let opened: Opened;
    before(async () => {
      opened = await impl.open();
      store = opened.store;
    });
    after(async () => {
      await store.close();
      await opened.drop();
    });

    it('creates a key whose secret is kept only as its hash, with budget, limits, team and expiry', async () => {
      await store.createTeam({ name: 'platform', budget: { usd: 100, period: 'month' }, limits: { rpm: 600 } }, T0);
      const input = {
        name: 'alice-laptop',
        user: 'alice',
        team: 'platform',
        models: ['claude-haiku-*'],
        budget: { usd: 5, period: 'day' as const },
        limits: { rpm: 60, concurrency: 2 },
        expires: T0 + DAY,
      };
      const { key, record } = await store.createKey(input, T0);
      assert.match(key, /^bck-/);
      assert.match(record.id, /^key_/);
      assert.deepEqual(
        { ...record, id: 'x', sha256: 'x' },
        {
          id: 'x',
          name: 'alice-laptop',
          sha256: 'x',
          user: 'alice',
          team: 'platform',
          created: T0,
          expires: T0 + DAY,
          revoked: undefined,
          models: ['claude-haiku-*'],
          budget: { usd: 5, period: 'day' },
          limits: { rpm: 60, itpm: undefined, otpm: undefined, concurrency: 2 },
        },
      );
      assert.ok(!JSON.stringify(await store.listKeys()).includes(key), 'the secret is nowhere in the store');
      assert.deepEqual(await store.findKey('alice-laptop'), record, 'found by name');
      assert.deepEqual(await store.findKey(record.id), record, 'and by id');
    });

    it('says a name taken and a team missing as typed errors, with the message a person acts on', async () => {
      await assert.rejects(
        store.createKey({ name: 'alice-laptop' }, T0),
        (e) => kind(e) === 'conflict' && /a key named "alice-laptop" exists already/.test(String(e)),
      );
      await assert.rejects(
        store.createKey({ name: 'x', team: 'nope' }, T0),
        (e) => kind(e) === 'not_found' && /no team "nope": create it first/.test(String(e)),
      );
      await assert.rejects(
        store.createTeam({ name: 'platform' }, T0),
        (e) => kind(e) === 'conflict' && /a team named "platform" exists already/.test(String(e)),
      );
      await assert.rejects(
        store.updateKey('ghost', {}),
        (e) => kind(e) === 'not_found' && /no key "ghost"/.test(String(e)),
      );
      await assert.rejects(store.updateTeam('ghost', {}), (e) => kind(e) === 'not_found');
      await store.createKey({ name: 'bob-laptop' }, T0);
      await assert.rejects(
        store.updateKey('bob-laptop', { name: 'alice-laptop' }),
        (e) => kind(e) === 'conflict' && /a key named "alice-laptop" exists already/.test(String(e)),
      );
      await assert.rejects(
        store.deleteTeam('platform'),
        (e) => kind(e) === 'conflict' && /still has 1 key\(s\)/.test(String(e)),
      );
      assert.equal(await store.findKey('ghost'), undefined);
      assert.equal(await store.findTeam('ghost'), undefined);
    });

    it('changes only what a change names, counts every change, and revokes once', async () => {
      const beforeChange = await store.changes();
      const changed = await store.updateKey('alice-laptop', { limits: { rpm: 120 }, budget: null });
      assert.deepEqual(
        [changed.limits.rpm, changed.limits.concurrency, changed.budget],
        [120, 2, undefined],
        'what the change does not name stays',
      );
      assert.ok((await store.changes()) > beforeChange, 'the change counter moved');
      const revoked = await store.revokeKey(changed.id, T0 + 5);
      assert.equal(revoked.revoked, T0 + 5);
      assert.equal((await store.revokeKey(changed.id, T0 + 9)).revoked, T0 + 5, 'revoking twice keeps the first time');
      assert.equal((await store.updateTeam('platform', { limits: { rpm: null } })).limits.rpm, undefined);
      await store.createTeam({ name: 'empty' }, T0);
      assert.equal((await store.deleteTeam('empty')).name, 'empty');
      assert.deepEqual(
        (await store.listTeams()).map((t) => t.name),
        ['platform'],
      );
      assert.deepEqual(
        (await store.listKeys()).map((k) => k.name),
        ['alice-laptop', 'bob-laptop'],
      );
    });

    it('appends in batches, a request id once, and reports exactly what the rows hold', async () => {
      const rows = [
        row('req_1', {
          keyName: 'alice',
          user: 'alice',
          model: 'claude-haiku-4-5',
          inputTokens: 100,
          outputTokens: 10,
          costUsd: 0.00015,
        }),
        row('req_2', {
          keyName: 'alice',
          user: 'alice',
          model: 'claude-opus-4-6',
          inputTokens: 200,
          outputTokens: 20,
          cacheReadTokens: 1000,
          cacheWrite5mTokens: 50,
          cacheWrite1hTokens: 7,
          costUsd: 0.002,
        }),
        row('req_3', {
          keyName: 'bob',
          user: 'bob',
          model: 'claude-haiku-4-5',
          status: 429,
          error: 'rate_limit_error',
          reason: 'rate_limit',
          costUsd: 0,
        }),
      ];
      assert.equal(await store.appendLedger(rows), 3);
      assert.equal(await store.appendLedger([rows[0]!]), 0, 'written twice, kept once');
      const byKey = await store.report('key', T0 - 1, T0 + 1);
      const shape = byKey.map((r) => [
        r.group,
        r.requests,
        r.errors,
        r.inputTokens,
        r.outputTokens,
        r.cacheReadTokens,
        r.cacheWrite5mTokens,
        r.cacheWrite1hTokens,
      ]);
      assert.deepEqual(shape, [
        ['alice', 2, 0, 300, 30, 1000, 50, 7],
        ['bob', 1, 1, 0, 0, 0, 0, 0],
      ]);
      assert.equal(Math.round(byKey[0]!.costUsd * 1e9), 2_150_000);
      assert.deepEqual(
        (await store.report('day', T0 - 1, T0 + 1)).map((r) => r.group),
        ['2026-11-20'],
      );
      assert.deepEqual(await store.report('model', T0 + 1, T0 + 2), [], 'outside the range: nothing');
      const newest = await store.requests({ since: 0, until: T0 + 1, limit: 2 });
      assert.deepEqual(
        newest.map((r) => r.requestId),
        ['req_3', 'req_2'],
      );
      assert.equal(newest[0]!.reason, 'rate_limit');
      assert.equal(newest[1]!.cacheWrite1hTokens, 7);
      assert.deepEqual(newest[1], rows[1], 'a row reads back as written');
    });

    it("answers the dashboard's queries: series, percentiles, filters, pages and last use", async () => {
      const rows: LedgerRow[] = [];
      for (let i = 0; i < 40; i++) {
        rows.push(
          row(`d_${i}`, {
            time: T0 + 10 + i * 150_000,
            keyId: i % 2 ? 'key_a' : 'key_b',
            keyName: i % 2 ? 'alice' : 'bob',
            user: i % 3 ? 'alice' : 'bob',
            team: i % 4 ? 'apps' : null,
            status: i % 9 ? 200 : 500,
            latencyMs: 10 + i,
            ttfbMs: i % 5 ? i : null,
            costUsd: 0.001,
          }),
        );
      }
      await store.appendLedger(rows);
      const series = await store.series('team', T0 + 10, T0 + 10 + 40 * 150_000, 3_600_000);
      const hour = T0 + 3_600_000;
      const expected = [
        [T0, null, 6, 1],
        [T0, 'apps', 18, 2],
        [hour, null, 4, 1],
        [hour, 'apps', 12, 1],
      ];
      assert.deepEqual(
        series.map((r) => [r.bucket, r.group, r.requests, r.errors]),
        expected,
        'buckets of an hour from the epoch, no team first',
      );
      assert.ok(Math.abs(series.reduce((a, r) => a + r.costUsd, 0) - 0.04) < 1e-9);
      const latency = await store.latency(T0 + 10, T0 + DAY);
      assert.deepEqual(latency, { requests: 40, p50LatencyMs: 29, p95LatencyMs: 47, p50TtfbMs: 19, p95TtfbMs: 38 });
      const page1 = await store.requests({ since: 0, until: T0 + DAY, limit: 5, key: 'alice', status: 200 });
      const page2 = await store.requests({
        since: 0,
        until: T0 + DAY,
        limit: 5,
        key: 'alice',
        status: 200,
        after: { time: page1.at(-1)!.time, requestId: page1.at(-1)!.requestId },
      });
      const all = await store.requests({ since: 0, until: T0 + DAY, limit: 10, key: 'key_a', status: 200 });
      assert.deepEqual(
        [...page1, ...page2].map((r) => r.requestId),
        all.map((r) => r.requestId),
        'pages by cursor, key by name or id',
      );
      const bobsOfApps = await store.requests({
        since: T0 + 10,
        until: T0 + DAY,
        limit: 100,
        user: 'bob',
        team: 'apps',
      });
      assert.deepEqual(
        bobsOfApps.map((r) => r.requestId),
        ['d_39', 'd_33', 'd_30', 'd_27', 'd_21', 'd_18', 'd_15', 'd_9', 'd_6', 'd_3'],
      );
      const fresh = await store.createKey({ name: 'fresh' }, T0);
      const used = await store.lastUsed();
      assert.equal(used[fresh.record.id], undefined, 'never used');
    });

    it('prune deletes the rows older than the cut-off, and only those', async () => {
      await store.appendLedger([row('old', { time: T0 - 40 * DAY }), row('new', { time: T0 + 2 * DAY })]);
      assert.equal(await store.prune(T0 - 30 * DAY), 1);
      assert.deepEqual(
        (await store.requests({ since: 0, until: T0 - DAY, limit: 10 })).map((r) => r.requestId),
        [],
      );
      assert.deepEqual(
        (await store.requests({ since: T0 + DAY, until: T0 + 3 * DAY, limit: 10 })).map((r) => r.requestId),
        ['new'],
      );
      assert.ok(Math.abs((await store.spentSince('team', 'apps', T0)) - 0.03) < 1e-9, 'spend since a time, by team');
    });

    it('device grants: polled at most once per interval, handed out once, found by code and state until they expire', async () => {
      const t = T0;
      await store.createDeviceGrant({ deviceCode: 'dc1', userCode: 'BCDF-GHJK', created: t, expires: t + 600_000 });
      await assert.rejects(
        store.createDeviceGrant({ deviceCode: 'dc2', userCode: 'BCDF-GHJK', created: t, expires: t + 600_000 }),
        (e) => kind(e) === 'conflict',
      );
      assert.deepEqual(await store.pollDeviceGrant('dc1', t + 1000, 5000), { kind: 'pending' });
      assert.deepEqual(await store.pollDeviceGrant('dc1', t + 3000, 5000), { kind: 'slow_down' });
      assert.deepEqual(await store.pollDeviceGrant('nope', t + 3000, 5000), { kind: 'unknown' });
      const found = (await store.deviceGrantByUserCode('BCDF-GHJK', t + 4000))!;
      assert.equal(found.status, 'pending');
      assert.ok(await store.startVerifying('dc1', { state: 's1', verifier: 'v', nonce: 'n', cookie: 'c' }));
      assert.equal((await store.deviceGrantByState('s1', t + 5000))!.status, 'verifying');
      const person = { sub: 'u1', email: 'a@example.com', name: 'A', groups: ['eng'] };
      await store.finishDeviceGrant('dc1', person, 'idp-refresh');
      // Two replicas poll at once: one of them gets the person.
      const [a, b] = await Promise.all([
        store.pollDeviceGrant('dc1', t + 7000, 5000),
        store.pollDeviceGrant('dc1', t + 7000, 5000),
      ]);
      const handed = [a, b].filter((r) => r.kind === 'approved');
      assert.equal(handed.length, 1, JSON.stringify([a, b]));
      assert.deepEqual((handed[0] as { grant: { person: unknown; refresh: string } }).grant.person, person);
      assert.deepEqual(await store.pollDeviceGrant('dc1', t + 20_000, 5000), { kind: 'unknown' }, 'redeemed');
      // A denied grant is said once; an expired one is unknown.
      await store.createDeviceGrant({ deviceCode: 'dc3', userCode: 'LMNP-QRST', created: t, expires: t + 600_000 });
      await store.finishDeviceGrant('dc3', null, null);
      assert.deepEqual(await store.pollDeviceGrant('dc3', t + 1000, 5000), { kind: 'denied' });
      await store.createDeviceGrant({ deviceCode: 'dc4', userCode: 'VWXZ-BCDF', created: t, expires: t + 600_000 });
      assert.equal(await store.deviceGrantByUserCode('VWXZ-BCDF', t + 600_000), undefined);
      assert.deepEqual(await store.pollDeviceGrant('dc4', t + 600_001, 5000), { kind: 'unknown' });
    });

    it('sign-outs: a person (the latest time wins) and single tokens until they expire', async () => {
      await store.revokeSubject('u1', T0, 'admin-key');
      await store.revokeSubject('u1', T0 + 10, 'admin-key');
      await store.revokeToken('jti-1', T0 + 60_000, T0);
      await store.revokeToken('jti-2', T0 + 5_000, T0);
      await store.revokeSubject('u2', T0, 'idp:groups');
      const state = await store.revocations(T0 + 10_000);
      state.subjects.sort((a, b) => a.subject.localeCompare(b.subject));
      assert.deepEqual(state, {
        subjects: [
          { subject: 'u1', at: T0 + 10, by: 'admin-key' },
          { subject: 'u2', at: T0, by: 'idp:groups' },
        ],
        tokens: ['jti-1'],
      });
      await store.revokeSubject('u1', T0 + 20, 'idp:groups');
      await store.revokeSubject('u2', T0 + 20, 'idp:removed');
      assert.deepEqual(
        (await store.revocations(T0 + 10_000)).subjects.sort((a, b) => a.subject.localeCompare(b.subject)),
        [
          { subject: 'u1', at: T0 + 20, by: 'admin-key' },
          { subject: 'u2', at: T0 + 20, by: 'idp:removed' },
        ],
        "a groups change keeps an earlier sign-out's refusal of refresh",
      );
    });

    it('people: seen at each sign-in (what an admin set stays), found by subject or email, changed and audited', async () => {
      const changes = await store.changes();
      await store.sawPerson({ sub: 's-alice', email: 'alice@example.com', groups: ['eng'] }, T0);
      await store.sawPerson(
        { sub: 's-alice', email: 'alice@example.com', name: 'Alice', groups: ['eng', 'ml'] },
        T0 + 5,
      );
      assert.equal(await store.changes(), changes, 'a sign-in is not a change the key caches must read');
      const by = { actor: 'admin-key', via: 'api' as const, address: '127.0.0.1', time: T0 + 9 };
      const changed = await store.updatePerson('alice@example.com', { budget: { usd: 5, period: 'week' } }, by);
      assert.ok((await store.changes()) > changes, 'what an admin set is');
      await store.sawPerson({ sub: 's-alice', email: 'alice@example.com', groups: ['ml'] }, T0 + 19, {
        sealed: 'sealed-token',
        expires: T0 + 3600_000,
      });
      await store.sawPerson({ sub: 's-alice', email: 'alice@example.com', groups: ['ml'] }, T0 + 20);
      assert.deepEqual(
        await store.personAccess('s-alice'),
        { sealed: 'sealed-token', expires: T0 + 3600_000 },
        "a refresh without the provider's token keeps the last one",
      );
      assert.ok(!JSON.stringify(await store.listPeople()).includes('sealed-token'), 'never listed');
      const alice = (await store.findPerson('oidc:s-alice'))!;
      assert.deepEqual(
        [alice.name, alice.groups, alice.firstSeen, alice.lastSeen, alice.budget, changed.budget],
        [undefined, ['ml'], T0, T0 + 20, { usd: 5, period: 'week' }, { usd: 5, period: 'week' }],
      );
      assert.deepEqual(
        (await store.listPeople()).map((p) => p.email),
        ['alice@example.com'],
      );
      assert.equal(kind(await store.updatePerson('nobody', {}).catch((e: unknown) => e)), 'not_found');
      const [entry] = await store.auditLog({ limit: 1 });
      assert.deepEqual(
        [entry!.actor, entry!.via, entry!.address, entry!.action, entry!.target, entry!.time],
        ['admin-key', 'api', '127.0.0.1', 'person.update', 'oidc:s-alice', T0 + 9],
      );
      assert.deepEqual(
        [(entry!.before as { budget?: unknown }).budget, (entry!.after as { budget: unknown }).budget],
        [undefined, { usd: 5, period: 'week' }],
      );
    });

    it('the audit log: every change to keys and teams with before and after, newest first, paged, append-only', async () => {
      const by = { actor: 'cli:ops', via: 'cli' as const, address: 'host-1' };
      await store.createTeam({ name: 'audited', groups: ['eng'] }, T0, by);
      const { record } = await store.createKey({ name: 'audited-key', team: 'audited' }, T0, by);
      await store.updateKey(record.id, { models: ['claude-haiku-*'] }, by);
      await store.updateTeam('audited', { budget: { usd: 1, period: 'day' }, models: ['claude-haiku-*'] }, by);
      await store.revokeKey(record.id, T0 + 1, by);
      await store.revokeKey(record.id, T0 + 2, by);
      await store.updateKey(record.id, { team: null }, by);
      await store.deleteTeam('audited', by);
      const log = await store.auditLog({ limit: 7 });
      assert.deepEqual(
        log.map((e) => e.action),
        ['team.delete', 'key.update', 'key.revoke', 'team.update', 'key.update', 'key.create', 'team.create'],
        'a second revoke changes nothing and is not logged',
      );
      assert.ok(log.every((e) => e.actor === 'cli:ops' && e.via === 'cli' && e.address === 'host-1'));
      const create = log[5]!;
      assert.equal(create.before, null);
      assert.equal((create.after as { name: string }).name, 'audited-key');
      assert.ok(!JSON.stringify(log).includes(record.sha256), "a key's hash is not in the audit log");
      const teamUpdate = log[3]!;
      assert.deepEqual(
        [(teamUpdate.before as { budget?: unknown }).budget, (teamUpdate.after as { models: unknown }).models],
        [undefined, ['claude-haiku-*']],
      );
      assert.deepEqual((await store.findTeam('nobody')) ?? null, null);
      const page = await store.auditLog({ limit: 2, beforeId: log[1]!.id });
      assert.deepEqual(
        page.map((e) => e.id),
        [log[2]!.id, log[3]!.id],
      );
      for (const sql of ['UPDATE audit SET actor = ?', 'DELETE FROM audit WHERE actor = ?'])
        await assert.rejects(opened.raw(sql, ['cli:ops']), /append-only/, `${sql}: refused by the database itself`);
      assert.equal((await store.auditLog({ limit: 100, beforeId: log[0]!.id + 1 })).length >= 7, true);
    });
  });
}
