// The PostgreSQL store on a real server: the same calls as the embedded store, migrations run once
// by replicas starting together, idempotent batched ledger writes, daily totals that agree with the
// rows, and key changes announced to other connections.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { ControlStore, LedgerRow } from '../../src/control/control-store.js';
import { openPostgresControlStore } from '../../src/control/postgres-store.js';
import { redactUrl } from '../../src/control/redact-url.js';
import { openSqliteControlStore } from '../../src/control/sqlite-store.js';
import { tempHome } from '../helpers.js';
import { sharedServices, testSchema } from '../shared-services.js';

const skip = await sharedServices();
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 20, 12);

function row(id: string, over: Partial<LedgerRow> = {}): LedgerRow {
  return Object.assign(
    {
      requestId: id,
      time: T0,
      front: 'anthropic',
      route: '/v1/messages',
      keyId: 'key_a',
      keyName: 'alice',
      user: 'alice',
      team: 'apps',
      session: null,
      metadataUser: null,
      userAgent: 'test',
      model: 'claude-haiku-4-5',
      bedrockModel: 'global.anthropic.claude-haiku-4-5-20251001-v1:0',
      region: 'us-west-2',
      scope: 'global',
      status: 200,
      error: null,
      reason: null,
      streamed: false,
      inputTokens: 10,
      outputTokens: 5,
      cacheReadTokens: 1,
      cacheWrite5mTokens: 2,
      cacheWrite1hTokens: 3,
      costUsd: 0.001,
      latencyMs: 12.5,
      ttfbMs: null,
      dropped: null,
      usageEstimated: false,
      serviceTier: null,
      teams: null,
      clientMetadata: null,
      clientModel: null,
    },
    over,
  );
}

describe('PostgreSQL store', { skip }, () => {
  const db = testSchema('store');
  const stores: ControlStore[] = [];
  after(async () => {
    for (const s of stores) await s.close();
    await db.drop();
  });

  it('migrates once when replicas open it together, and says a newer schema plainly', async () => {
    const opened = await Promise.all([
      openPostgresControlStore(db.url),
      openPostgresControlStore(db.url),
      openPostgresControlStore(db.url),
    ]);
    stores.push(...opened);
    assert.equal(opened[0]!.schema, db.schema);
    assert.deepEqual(await opened[0]!.listKeys(), []);
    assert.equal(redactUrl('postgres://gw:s3cret@db:5432/x'), 'postgres://gw:***@db:5432/x', 'no password in messages');
    assert.equal(
      redactUrl('postgres://db:5432/x?user=gw&password=s3cret&sslpassword=s3cret2&schema=a'),
      'postgres://db:5432/x?user=gw&password=***&sslpassword=***&schema=a',
      'nor in its query',
    );
    assert.equal(redactUrl('redis://:s3cret@cache:6379/0'), 'redis://:***@cache:6379/0');
  });

  it('announces a key change to another replica at once (LISTEN/NOTIFY)', async () => {
    const [a, b] = [stores[1]!, stores[2]!];
    const heard = new Promise<number>((resolve) => {
      const started = Date.now();
      b.watch!(() => resolve(Date.now() - started));
    });
    // the watcher's first call comes when it starts listening; the one that counts is after the change
    await heard;
    const next = new Promise<number>((resolve) => {
      const started = Date.now();
      b.watch!(() => resolve(Date.now() - started));
    });
    await new Promise((r) => setTimeout(r, 100));
    await a.createKey({ name: 'announced' }, T0);
    const ms = await Promise.race([next, new Promise<number>((r) => setTimeout(() => r(Infinity), 2000))]);
    assert.ok(ms < 1000, `heard within a second (${ms} ms)`);
  });

  it('writes the ledger in batches, once per request id, and keeps daily totals equal to the rows', async () => {
    const store = stores[0]!;
    const rows: LedgerRow[] = [];
    // Four days, two keys, two models, some errors; times spread over each day.
    for (let i = 0; i < 400; i++)
      rows.push(
        row(`req_${i}`, {
          time: T0 - 2 * DAY + i * 3_600_000 * 0.25,
          keyId: i % 2 ? 'key_a' : 'key_b',
          keyName: i % 2 ? 'alice' : 'bob',
          model: i % 3 ? 'claude-haiku-4-5' : 'claude-sonnet-4-6',
          status: i % 10 === 0 ? 429 : 200,
          costUsd: 0.001 * (i % 7),
          session: `s${i % 4}`,
        }),
      );
    assert.equal(await store.appendLedger(rows.slice(0, 250)), 250);
    assert.equal(await store.appendLedger(rows.slice(200)), 150, 'the 50 written before are skipped');
    assert.equal(await store.appendLedger(rows), 0, 'a replay changes nothing');
    const lite = openSqliteControlStore(tempHome());
    await lite.appendLedger(rows);
    const round = (r: Awaited<ReturnType<ControlStore['report']>>) =>
      r.map((x) => ({ ...x, costUsd: Math.round(x.costUsd * 1e9) / 1e9 }));
    // Ranges that start and end inside days, whole days, and inside one day.
    for (const [since, until] of [
      [T0 - 2 * DAY - 5000, T0 + 2 * DAY],
      [T0 - DAY - 3_600_000, T0 + 7_200_000],
      [Date.UTC(2026, 10, 19), Date.UTC(2026, 10, 21)],
      [T0 + 1000, T0 + 3_600_000],
    ] as Array<[number, number]>) {
      for (const by of ['key', 'user', 'team', 'model', 'day', 'session'] as const) {
        assert.deepEqual(
          round(await store.report(by, since, until)),
          round(await lite.report(by, since, until)),
          `report by ${by} over [${new Date(since).toISOString()}, ${new Date(until).toISOString()})`,
        );
      }
    }
    for (const since of [T0 - 3 * DAY, T0 - DAY + 1234, T0]) {
      assert.ok(
        Math.abs((await store.spentSince('key', 'key_a', since)) - (await lite.spentSince('key', 'key_a', since))) <
          1e-9,
        'spend since a time: the same',
      );
      assert.ok(
        Math.abs((await store.spentSince('team', 'apps', since)) - (await lite.spentSince('team', 'apps', since))) <
          1e-9,
      );
    }
    // Pages by cursor, newest first, with filters.
    const page1 = await store.requests({ since: 0, until: T0 + 10 * DAY, limit: 7, key: 'alice', status: 200 });
    const page2 = await store.requests({
      since: 0,
      until: T0 + 10 * DAY,
      limit: 7,
      key: 'alice',
      status: 200,
      after: { time: page1.at(-1)!.time, requestId: page1.at(-1)!.requestId },
    });
    assert.deepEqual(
      [...page1, ...page2].map((r) => r.requestId),
      (await lite.requests({ since: 0, until: T0 + 10 * DAY, limit: 14, key: 'alice', status: 200 })).map(
        (r) => r.requestId,
      ),
    );
    assert.deepEqual(
      page1[0],
      (await lite.requests({ since: 0, until: T0 + 10 * DAY, limit: 1, key: 'alice', status: 200 }))[0],
      'a row reads back as written',
    );
    const cut = Date.UTC(2026, 10, 19);
    assert.equal(await store.prune(cut), await lite.prune(cut));
    assert.deepEqual(
      round(await store.report('model', 0, T0 + 10 * DAY)),
      round(await lite.report('model', 0, T0 + 10 * DAY)),
      'after pruning, the same totals',
    );
    await lite.close();
  });

  it("answers the dashboard's queries as the embedded store does: series, latency percentiles, last use, filters", async () => {
    const other = testSchema('dash');
    const pgStore = await openPostgresControlStore(other.url);
    const lite = openSqliteControlStore(tempHome());
    try {
      const rows: LedgerRow[] = [];
      for (let i = 0; i < 120; i++)
        rows.push(
          row(`d_${i}`, {
            time: T0 - 5 * 3_600_000 + i * 150_000,
            keyId: i % 3 ? 'key_a' : 'key_b',
            keyName: i % 3 ? 'alice' : 'bob',
            user: i % 2 ? 'alice' : 'bob',
            team: i % 4 ? 'apps' : null,
            status: i % 9 ? 200 : 500,
            latencyMs: 10 + ((i * 37) % 101),
            ttfbMs: i % 5 ? 3 + ((i * 11) % 17) : null,
            costUsd: 0.0001 * (i % 7),
          }),
        );
      await pgStore.appendLedger(rows);
      await lite.appendLedger(rows);
      for (const store of [pgStore, lite]) {
        await store.createTeam({ name: 'apps' }, T0);
      }
      const round = (r: Array<{ costUsd: number }>) =>
        r.map((x) => ({ ...x, costUsd: Math.round(x.costUsd * 1e9) / 1e9 }));
      for (const by of ['model', 'key', 'user', 'team'] as const) {
        assert.deepEqual(
          round(await pgStore.series(by, T0 - 6 * 3_600_000, T0 + 3_600_000, 3_600_000)),
          round(await lite.series(by, T0 - 6 * 3_600_000, T0 + 3_600_000, 3_600_000)),
          by,
        );
      }
      assert.deepEqual(await pgStore.latency(0, T0 + 86_400_000), await lite.latency(0, T0 + 86_400_000));
      assert.deepEqual(await pgStore.latency(T0 + 10 * 86_400_000, T0 + 11 * 86_400_000), {
        requests: 0,
        p50LatencyMs: null,
        p95LatencyMs: null,
        p50TtfbMs: null,
        p95TtfbMs: null,
      });
      const ids = async (store: ControlStore, f: { user?: string; team?: string }) =>
        (await store.requests({ since: 0, until: T0 + 86_400_000, limit: 500, ...f })).map((r) => r.requestId);
      assert.deepEqual(
        await ids(pgStore, { user: 'bob', team: 'apps' }),
        await ids(lite, { user: 'bob', team: 'apps' }),
      );
      const k = await pgStore.createKey({ name: 'fresh' }, T0);
      assert.equal((await pgStore.lastUsed())[k.record.id], undefined, 'never used');
    } finally {
      await pgStore.close();
      await lite.close();
      await other.drop();
    }
  });

  it('the CLI acts on it with --database-url (or BEDROCK_CLAUDE_DATABASE_URL), and never prints the password', async () => {
    const other = testSchema('cli');
    const url = other.url.replace('postgres://postgres@', 'postgres://postgres:not-a-real-password@');
    const env = { PATH: process.env['PATH'] ?? '', HOME: tempHome(), AWS_EC2_METADATA_DISABLED: 'true' };
    const cli = async (args: string[], extraEnv: Record<string, string> = {}) =>
      (await promisify(execFile)(process.execPath, ['dist/cli/main.js', ...args], { env: { ...env, ...extraEnv } }))
        .stdout;
    try {
      await cli(['teams', 'create', 'apps', '--budget-usd', '20', '--database-url', url]);
      const created = JSON.parse(
        await cli(['keys', 'create', 'ci-bot', '--team', 'apps', '--rpm', '60', '--json', '--database-url', url]),
      ) as { id: string; key: string };
      assert.match(created.key, /^bck-/);
      const listed = await cli(['keys', 'list'], { BEDROCK_CLAUDE_DATABASE_URL: url });
      assert.match(listed, /ci-bot/);
      const shown = await cli(['keys', 'create', 'second', '--database-url', url]);
      assert.ok(!shown.includes('not-a-real-password'), 'the password is not printed');
      const store = await openPostgresControlStore(url);
      await store.appendLedger([row('cli_1', { keyId: created.id, keyName: 'ci-bot', time: Date.now() - 1000 })]);
      await store.close();
      const usage = JSON.parse(
        await cli(['usage', '--by', 'key', '--since', '1h', '--json', '--database-url', url]),
      ) as { rows: Array<{ group: string; requests: number }> } | Array<{ group: string; requests: number }>;
      const rows = Array.isArray(usage) ? usage : usage.rows;
      assert.deepEqual(
        rows.map((r) => [r.group, r.requests]),
        [['ci-bot', 1]],
      );
    } finally {
      await other.drop();
    }
  });
});
