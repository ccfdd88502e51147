// What got in a new operator's way with the CLI (issue 29): a key usable the moment `keys create` returns, config
// entries that keep what they were given or refuse, a data directory typo refused, short usage errors, exit codes.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { request } from 'undici';
import { startEmulator } from '../../src/emulator/emulator.js';
import { openSqliteControlStore } from '../../src/control/sqlite-store.js';
import type { ControlStore } from '../../src/control/control-store.js';
import { callWithKey, gatewayOn, tempHome } from '../helpers.js';

/** Reads the store of a data directory, and closes it. */
async function store<T>(dir: string, read: (s: ControlStore) => Promise<T>): Promise<T> {
  const s = openSqliteControlStore(dir);
  try {
    return await read(s);
  } finally {
    await s.close();
  }
}

const children: ChildProcess[] = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
});

const home = tempHome();
const dataDir = join(home, 'data');
const env = { PATH: process.env['PATH'] ?? '', HOME: home, AWS_EC2_METADATA_DISABLED: 'true' };

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}
const cliWith = (extra: Record<string, string>, ...args: string[]): Promise<Ran> =>
  new Promise((resolve) => {
    const options = { env: Object.assign({}, env, extra), timeout: 30_000 };
    execFile(process.execPath, ['dist/cli/main.js', ...args], options, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
const cli = (...args: string[]) => cliWith({}, ...args);

async function serve(): Promise<string> {
  const child = spawn(
    process.execPath,
    ['dist/cli/main.js', 'serve', '--emulator', '--port', '0', '--data-dir', dataDir],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let out = '';
  for await (const chunk of child.stdout!) {
    out += chunk;
    const m = /listening on (http:\/\/[0-9.:]+)/.exec(out);
    if (m) return m[1]!;
  }
  throw new Error(`serve did not start: ${out}`);
}

describe('the CLI as an operator meets it', () => {
  it('a key made by `keys create` works the moment the command returns, with a gateway already running', async () => {
    // A key before the gateway starts, so that it is not open to loopback callers without one.
    assert.equal((await cli('keys', 'create', 'zeroth', '--data-dir', dataDir)).code, 0);
    const url = await serve();
    assert.equal(await callWithKey(url, 'bck-not-a-key'), 401, 'a key it does not know is refused');
    for (const name of ['first', 'second', 'third']) {
      const made = await cli('keys', 'create', name, '--data-dir', dataDir, '--json');
      assert.equal(made.code, 0, made.stderr);
      const { key } = JSON.parse(made.stdout) as { key: string };
      assert.equal(await callWithKey(url, key), 200, `${name}: usable at once`);
    }
  });

  it('keys create --config-entry prints the allow-list it was given, and refuses what a config key cannot hold', async () => {
    const entry = await cli('keys', 'create', 'ci', '--config-entry', '--models', 'claude-haiku-*,claude-sonnet-4-6');
    assert.equal(entry.code, 0, entry.stderr);
    assert.match(
      entry.stdout,
      /- name: "ci"\n {4}sha256: [0-9a-f]{64}\n {4}models: \["claude-haiku-\*","claude-sonnet-4-6"\]/,
    );
    const budget = await cli(
      'keys',
      'create',
      'ci',
      '--config-entry',
      '--models',
      'claude-haiku-*',
      '--budget-usd',
      '5',
    );
    assert.equal(budget.code, 1, 'refused: exit 1');
    assert.match(budget.stderr, /error: a config key has a name, a hash and models only: --budget-usd would be lost/);
    assert.match(budget.stderr, /fix: Leave out --config-entry/);
    assert.doesNotMatch(budget.stdout, /key: bck-/, 'no key printed');
  });

  it('a --data-dir that is not there is refused, not made', async () => {
    const typo = join(home, 'dtaa');
    const listed = await cli('keys', 'list', '--data-dir', typo);
    assert.equal(listed.code, 1);
    assert.match(listed.stderr, /there is no data directory at .*dtaa\nfix: Check the path/);
    assert.equal(existsSync(typo), false);
  });

  it('a bad option is one line and a pointer to --help (exit 2), not the whole help again', async () => {
    const bad = await cli('keys', 'list', '--bogus');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown option '--bogus'/);
    assert.match(bad.stderr, /\(add --help for usage\)/);
    assert.ok(bad.stderr.trim().split('\n').length <= 3, bad.stderr);
  });

  it('reads the region as the AWS CLI does (flag, AWS_REGION, AWS_DEFAULT_REGION, the profile) and says whence', async () => {
    const awsHome = tempHome();
    mkdirSync(join(awsHome, '.aws'));
    writeFileSync(
      join(awsHome, '.aws', 'config'),
      '[default]\nregion = eu-west-1\n\n[profile tokyo]\nregion = ap-northeast-1\n',
    );
    const inHome = { HOME: awsHome };
    const fromDefault = await cliWith(inHome, 'resolve', 'sonnet');
    assert.equal(fromDefault.code, 0, fromDefault.stderr);
    assert.match(fromDefault.stdout, /anthropic\.claude-sonnet/);
    assert.match(fromDefault.stderr, /region eu-west-1 \(from the profile "default" in .*\.aws\/config\)/);
    const fromProfile = await cliWith(Object.assign({ AWS_PROFILE: 'tokyo' }, inHome), 'resolve', 'sonnet', '--json');
    assert.deepEqual(
      (({ region, regionFrom }) => [region, regionFrom])(JSON.parse(fromProfile.stdout) as Record<string, string>),
      ['ap-northeast-1', `the profile "tokyo" in ${join(awsHome, '.aws', 'config')}`],
    );
    const fromEnv = await cliWith(Object.assign({ AWS_DEFAULT_REGION: 'us-east-2' }, inHome), 'resolve', 'sonnet');
    assert.match(fromEnv.stderr, /region us-east-2 \(from AWS_DEFAULT_REGION\)/, 'the environment before the profile');
    const flag = await cliWith(inHome, 'resolve', 'sonnet', '--region', 'us-west-2');
    assert.doesNotMatch(flag.stderr, /region us-west-2 \(from/, 'nothing to say about a region given on the line');

    const none = await cli('resolve', 'sonnet');
    assert.equal(none.code, 1);
    assert.match(
      none.stderr,
      /No AWS region: Bedrock is regional\. Looked at --region, AWS_REGION, AWS_DEFAULT_REGION/,
    );
    assert.match(none.stderr, /fix: Pass --region us-west-2, export AWS_REGION=us-west-2, or set it in the profile/);
    assert.doesNotMatch(none.stderr, /in the options/, "the library's words are not the CLI's");
  });

  it('serve refuses a models entry it cannot take, at once, naming the field, and leaves nothing running', async () => {
    const config = join(home, 'bad-models.yaml');
    writeFileSync(
      config,
      'models:\n  models:\n    - name: claude-new\n      bedrockId: anthropic.claude-new-v1\n      contextWindow: -5\n',
    );
    const failed = await cli('serve', '--config', config, '--no-store', '--port', '0');
    assert.equal(failed.code, 1, `it exited by itself, exit 1: ${failed.stderr}`);
    assert.match(failed.stderr, /error: models file: models\[0\]\.contextWindow: Too small: expected number to be >0/);
    assert.doesNotMatch(failed.stdout, /listening on/);
  });

  it('keys list and teams show say what each spent this month, a budget or not', async () => {
    const emu = await startEmulator({ port: 0 });
    const dir = join(tempHome(), 'data');
    assert.equal((await cli('teams', 'create', 'apps', '--data-dir', dir)).code, 0);
    assert.equal((await cli('keys', 'create', 'before', '--data-dir', dir)).code, 0);
    const gw = await gatewayOn(emu.url, { dataDir: dir });
    try {
      const made = await cli('keys', 'create', 'spender', '--team', 'apps', '--data-dir', dir, '--json');
      const { key } = JSON.parse(made.stdout) as { key: string };
      assert.equal(await callWithKey(gw.url, key), 200);
      await gw.flushLedger();
      const row = await store(dir, (s) => s.requests({ since: 0, until: Date.now() + 1, limit: 10 }));
      const cost = `$${row[0]!.costUsd.toFixed(6)}`;
      const keys = await cli('keys', 'list', '--data-dir', dir);
      assert.match(keys.stdout, /SPENT \(MONTH\)/);
      assert.ok(keys.stdout.includes(cost), `${cost} in\n${keys.stdout}`);
      const team = await cli('teams', 'show', 'apps', '--data-dir', dir);
      assert.ok(team.stdout.includes(cost), `${cost} in\n${team.stdout}`);
    } finally {
      await gw.close(100);
      await emu.close();
    }
  });

  it('keys rotate prints the new secret once and when the old one stops; keys delete and teams delete', async () => {
    const dir = join(tempHome(), 'data');
    assert.equal((await cli('teams', 'create', 'short-lived', '--data-dir', dir)).code, 0);
    assert.equal((await cli('keys', 'create', 'turning', '--team', 'short-lived', '--data-dir', dir)).code, 0);
    const rotated = await cli('keys', 'rotate', 'turning', '--overlap', '2h', '--data-dir', dir);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(
      rotated.stdout,
      /^key: bck-[\w-]+\n\nRotated key_\S+ \("turning"\)\. .*the old one works until \d{4}-/m,
    );
    const bad = await cli('keys', 'rotate', 'turning', '--overlap', 'forever', '--data-dir', dir);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /a duration up to 30d/);
    const stillIn = await cli('teams', 'delete', 'short-lived', '--data-dir', dir);
    assert.equal(stillIn.code, 1);
    assert.match(stillIn.stderr, /still has 1 key/);
    const gone = await cli('keys', 'delete', 'turning', '--data-dir', dir);
    assert.equal(gone.code, 0, gone.stderr);
    assert.match(gone.stdout, /Deleted key_\S+ \("turning"\); the ledger keeps its rows\./);
    assert.equal((await cli('teams', 'delete', 'short-lived', '--data-dir', dir)).code, 0);
  });

  it('says what is wrong in words: a missing file, the emulator chosen by the config, models confirmed first', async () => {
    const missing = await cli('check', join(home, 'nowhere.json'));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /error: cannot read .*nowhere\.json: there is no such file\nfix: /);
    assert.doesNotMatch(missing.stderr, /ENOENT/);

    const listed = (await cli('models')).stdout.split('\n').filter((l) => /^claude-/.test(l));
    const firstStar = listed.findIndex((l) => /^\S+\*/.test(l));
    assert.ok(firstStar > 0, 'a confirmed model first');
    assert.ok(
      listed.slice(firstStar).every((l) => /^\S+\*/.test(l)),
      'the unconfirmed after all the confirmed',
    );
  });

  it('serve on the built-in emulator: says the config chose it, and serves the models the config adds', async () => {
    const config = join(home, 'emulated.yaml');
    writeFileSync(
      config,
      'emulator: true\nmodels:\n  models:\n    - name: claude-inhouse-1\n      bedrockId: anthropic.claude-inhouse-1-v1:0\n' +
        '      pricing: { input: 1, output: 5, cacheWrite: 1.25, cacheRead: 0.1 }\n',
    );
    const child = spawn(
      process.execPath,
      ['dist/cli/main.js', 'serve', '--config', config, '--port', '0', '--no-store'],
      {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(child);
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    let out = '';
    let url = '';
    for await (const chunk of child.stdout!) {
      out += chunk;
      const m = /listening on (http:\/\/[0-9.:]+)/.exec(out);
      if (m) {
        url = m[1]!;
        break;
      }
    }
    assert.match(err, /because the config says emulator: true/);
    const res = await request(`${url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-inhouse-1', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const text = await res.body.text();
    assert.equal(res.statusCode, 200, text);
    child.kill('SIGTERM');
  });

  it('a region of the right form that AWS does not list is refused, by serve and by resolve', async () => {
    const served = await cli('serve', '--region', 'us-west-99', '--no-store', '--port', '0', '--emulator');
    assert.equal(served.code, 1, served.stderr);
    assert.match(served.stderr, /"us-west-99" is not a region AWS lists: pass one such as us-west-2/);
    const resolved = await cliWith({ AWS_REGION: 'eu-central-9' }, 'resolve', 'sonnet');
    assert.equal(resolved.code, 1);
    assert.match(resolved.stderr, /"eu-central-9" is not a region AWS lists \(from AWS_REGION\)/);
    assert.equal((await cli('resolve', 'sonnet', '--region', 'ap-southeast-7')).code, 0, 'a newer region it knows');
  });
});
