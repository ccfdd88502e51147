// The control plane's CLI end to end, against `serve` on the emulator with a data directory:
// keys and teams, a key revoked while the gateway runs, the ledger after SIGTERM and after kill -9.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { request } from 'undici';
import { openSqliteControlStore } from '../../src/control/sqlite-store.js';
import { tempHome } from '../helpers.js';

const exec = promisify(execFile);
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
});

const home = tempHome();
const dataDir = join(home, 'data');
const env = { PATH: process.env['PATH'] ?? '', HOME: home, AWS_EC2_METADATA_DISABLED: 'true' };
const cli = async (...args: string[]) =>
  (await exec(process.execPath, ['dist/cli/main.js', ...args, '--data-dir', dataDir], { env })).stdout;

async function serve(extraEnv: Record<string, string> = {}): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    ['dist/cli/main.js', 'serve', '--emulator', '--port', '0', '--data-dir', dataDir],
    { env: Object.assign({}, env, extraEnv), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let out = '';
  for await (const chunk of child.stdout!) {
    out += chunk;
    const m = /listening on (http:\/\/[0-9.:]+)/.exec(out);
    if (m) return { url: m[1]!, child };
  }
  throw new Error(`serve did not start: ${out}`);
}

const body = JSON.stringify({
  model: 'claude-haiku-4-5',
  max_tokens: 20,
  messages: [{ role: 'user', content: 'count me' }],
});
/** Calls that the ledger keeps: all but the refusals for want of a valid key (those are counted, not stored). */
let calls = 0;
async function call(url: string, key: string): Promise<number> {
  const res = await request(`${url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': key, 'content-type': 'application/json' },
    body,
  });
  await res.body.text();
  if (res.statusCode !== 401) calls++;
  return res.statusCode;
}

describe('bedrock-claude keys, teams and usage', () => {
  it('creates, lists, updates and revokes keys; the running gateway follows; the report totals the ledger', async () => {
    const created = JSON.parse(
      await cli(
        'keys',
        'create',
        'alice',
        '--user',
        'alice',
        '--rpm',
        '60',
        '--budget-usd',
        '5',
        '--budget-period',
        'day',
        '--json',
      ),
    ) as { id: string; name: string; key: string };
    assert.match(created.id, /^key_/);
    assert.equal(created.name, 'alice');
    assert.match(created.key, /^bck-/);
    const listed = await cli('keys', 'list', '--json');
    assert.ok(!listed.includes(created.key), 'the secret is shown once, never again');
    assert.deepEqual(
      (JSON.parse(listed) as Array<{ name: string; budget: unknown; limits: { rpm: number } }>).map((k) => [
        k.name,
        k.budget,
        k.limits.rpm,
      ]),
      [['alice', { usd: 5, period: 'day' }, 60]],
    );
    JSON.parse(await cli('teams', 'create', 'platform', '--budget-usd', '100', '--json'));
    const moved = JSON.parse(await cli('keys', 'update', 'alice', '--team', 'platform', '--json')) as Array<{
      team: string;
      limits: { rpm: number };
    }>;
    assert.deepEqual([moved[0]!.team, moved[0]!.limits.rpm], ['platform', 60]);
    await assert.rejects(cli('keys', 'update', 'alice', '--team', 'nowhere'), /no team "nowhere": create it first/);

    const { url, child } = await serve();
    assert.equal(await call(url, created.key), 200);
    assert.equal(await call(url, created.key), 200);
    assert.equal(await call(url, 'bck-wrong'), 401);
    await cli('keys', 'revoke', 'alice');
    const t0 = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - t0 < 3000) {
      status = await call(url, created.key);
      if (status === 200) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(status, 401, 'refused once revoked');
    assert.ok(Date.now() - t0 < 2000, `refused ${Date.now() - t0} ms after the revocation`);
    child.kill('SIGTERM');
    await once(child, 'exit');

    const report = JSON.parse(await cli('usage', '--by', 'key', '--since', '1h', '--json')) as {
      rows: Array<{ group: string | null; requests: number; costUsd: number }>;
    };
    const store = openSqliteControlStore(dataDir);
    const rows = await store.requests({ since: 0, until: Date.now() + 1, limit: 10_000 });
    await store.close();
    assert.equal(rows.length, calls, 'SIGTERM lost nothing: every answered request is a row (not the keyless 401s)');
    assert.equal(
      report.rows.reduce((a, r) => a + r.requests, 0),
      rows.length,
      'the report totals the rows',
    );
    const alice = report.rows.find((r) => r.group === 'alice')!;
    assert.equal(alice.requests, rows.filter((r) => r.keyName === 'alice').length);
    assert.ok(alice.requests >= 2 && alice.costUsd > 0);
    const csv = await cli('usage', '--by', 'user', '--since', '1h', '--csv');
    assert.match(
      csv.split('\n')[0]!,
      /^user,requests,errors,inputTokens,outputTokens,cacheReadTokens,cacheWrite5mTokens,cacheWrite1hTokens,costUsd$/,
    );
  });

  it('after kill -9, the ledger holds every request answered, each once', async () => {
    const created = JSON.parse(await cli('keys', 'create', 'bob', '--json')) as { key: string };
    const { url, child } = await serve();
    for (let i = 0; i < 20; i++) assert.equal(await call(url, created.key), 200);
    child.kill('SIGKILL');
    await once(child, 'exit');
    // Started again on its data directory, it writes what the journal held before it listens.
    const again = await serve();
    again.child.kill('SIGKILL');
    await once(again.child, 'exit');
    const store = openSqliteControlStore(dataDir);
    const rows = (await store.requests({ since: 0, until: Date.now() + 1, limit: 10_000 })).filter(
      (r) => r.keyName === 'bob',
    );
    await store.close();
    assert.equal(rows.length, 20);
    assert.equal(new Set(rows.map((r) => r.requestId)).size, 20);
  });

  it("acts through a running gateway's admin API with --gateway and --admin-key", async () => {
    const adminKey = 'cli-admin-key-0123456789abcdef0123';
    const { url, child } = await serve({ BEDROCK_CLAUDE_ADMIN_KEY: adminKey });
    const remote = async (...args: string[]) =>
      (await exec(process.execPath, ['dist/cli/main.js', ...args, '--gateway', url, '--admin-key', adminKey], { env }))
        .stdout;
    const created = JSON.parse(await remote('keys', 'create', 'remote-ray', '--user', 'ray', '--json')) as {
      id: string;
      key: string;
    };
    assert.match(created.key, /^bck-/);
    assert.equal(await call(url, created.key), 200, 'works at once on the gateway that made it');
    const listed = JSON.parse(await remote('keys', 'list', '--json')) as Array<{ name: string }>;
    assert.ok(listed.some((k) => k.name === 'remote-ray'));
    JSON.parse(await remote('teams', 'create', 'remote-team', '--rpm', '10', '--json'));
    assert.equal(
      (
        JSON.parse(await remote('keys', 'update', 'remote-ray', '--team', 'remote-team', '--json')) as Array<{
          team: string;
        }>
      )[0]!.team,
      'remote-team',
    );
    // The gateway writes its ledger in batches: ask until the request is there (a bounded number of times).
    let requests: number | undefined;
    for (let i = 0; i < 50 && requests === undefined; i++) {
      const report = JSON.parse(await remote('usage', '--by', 'user', '--since', '1h', '--json')) as {
        rows: Array<{ group: string; requests: number }>;
      };
      requests = report.rows.find((r) => r.group === 'ray')?.requests;
    }
    assert.equal(requests, 1);
    await remote('keys', 'revoke', 'remote-ray');
    assert.equal(await call(url, created.key), 401, 'revoked through the admin API: refused at once');
    // The audit log: the CLI through the admin API is the admin key, via the CLI; on the data directory, the OS user.
    const audit = JSON.parse(await remote('audit', '--limit', '3', '--json')) as Array<{
      actor: string;
      via: string;
      action: string;
      target: string;
    }>;
    assert.deepEqual(
      audit.map((e) => [e.actor, e.via, e.action]),
      [
        ['admin-key', 'cli', 'key.revoke'],
        ['admin-key', 'cli', 'key.update'],
        ['admin-key', 'cli', 'team.create'],
      ],
    );
    const local = await cli('audit', '--limit', '100');
    assert.match(local, /cli:\S+\s+cli\s+\S+\s+key\.create\s+key_/, 'a key made on the data directory, by the OS user');
    assert.match(local, /admin-key\s+cli\s+127\.0\.0\.1\s+key\.revoke/);
    assert.match(await cli('people', 'list'), /nobody has signed in yet/);
    await assert.rejects(
      exec(
        process.execPath,
        ['dist/cli/main.js', 'keys', 'list', '--gateway', url, '--admin-key', 'wrong-admin-key-000000'],
        { env },
      ),
      /Invalid or missing admin key/,
    );
    child.kill('SIGTERM');
    await once(child, 'exit');
  });
});

describe('the CLI validates keys as the admin API does (issue 25, item 17)', () => {
  const fails = (...args: string[]) =>
    cli(...args).then(
      (out) => assert.fail(`accepted: ${out}`),
      (err: { stderr?: string }) => err.stderr ?? '',
    );
  it('--models "" means all models, as its help says, not none', async () => {
    await cli('keys', 'create', 'every-model', '--models', '');
    const shown = JSON.parse(await cli('keys', 'show', 'every-model', '--json')) as { models: unknown };
    assert.ok(shown.models === undefined || shown.models === null, `models: ${JSON.stringify(shown.models)}`);
  });
  it('refuses numbers written as exponents or hex, and limits past a billion', async () => {
    assert.match(
      await fails('keys', 'create', 'huge', '--rpm', '1e20'),
      /expected a whole number from 1 to 1000000000/,
    );
    assert.match(await fails('keys', 'create', 'hex', '--budget-usd', '0x10'), /expected an amount in USD/);
    assert.match(await fails('keys', 'create', 'big', '--concurrency', '99999999999'), /from 1 to 1000000000/);
  });
  it("refuses an expiry past the year 9999 in the admin API's words, and the listing still works", async () => {
    assert.match(await fails('keys', 'create', 'forever', '--expires', '99999999d'), /expires: after the year 9999/);
    assert.doesNotMatch(await cli('keys', 'list'), /forever/);
  });
});
