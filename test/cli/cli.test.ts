/** The built CLI as a new user runs it (npm test builds first). */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { request } from 'undici';
import { tempHome } from '../helpers.js';

const run = promisify(execFile);
const children: ChildProcess[] = [];
after(async () => {
  for (const c of children)
    if (c.exitCode === null) {
      c.kill('SIGTERM');
      await once(c, 'exit');
    }
});

function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env['PATH'] ?? '', HOME: tempHome(), AWS_EC2_METADATA_DISABLED: 'true', ...extra };
}

async function start(
  args: string[],
  env = cleanEnv(),
): Promise<{ url: string; child: ChildProcess; stderr: () => string }> {
  const child = spawn(process.execPath, ['dist/cli/main.js', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  let out = '';
  for await (const chunk of child.stdout!) {
    out += chunk;
    const m = /listening on (http:\/\/[0-9.:]+)/.exec(out);
    if (m) return { url: m[1]!, child, stderr: () => err };
  }
  throw new Error(`no listening line: ${out} ${err}`);
}

describe('bedrock-claude emulator', () => {
  it('prints "listening on" and answers /healthz', async () => {
    const { url } = await start(['emulator', '--port', '0']);
    const res = await request(`${url}/healthz`);
    assert.equal(res.statusCode, 200);
    assert.equal(((await res.body.json()) as { status: string }).status, 'ok');
  });
  it('says on stderr how to reach it, without echoing a secret given on the command line', async () => {
    const plain = await start(['emulator', '--port', '0']);
    for (let i = 0; i < 200 && !/AWS_SECRET_ACCESS_KEY/.test(plain.stderr()); i++)
      await new Promise((r) => setTimeout(r, 25));
    assert.match(
      plain.stderr(),
      new RegExp(
        `at ${plain.url.replace(/[.]/g, '\\.')} \\(--endpoint-url\\) with AWS_ACCESS_KEY_ID=AKIAEMULATOR00000000 AWS_SECRET_ACCESS_KEY=bedrock-claude-emulator-secret`,
      ),
    );
    const custom = await start(['emulator', '--port', '0', '--secret-access-key', 'hush-hush-secret']);
    for (let i = 0; i < 200 && !/AWS_SECRET_ACCESS_KEY/.test(custom.stderr()); i++)
      await new Promise((r) => setTimeout(r, 25));
    assert.match(custom.stderr(), /AWS_SECRET_ACCESS_KEY=\(the one given with --secret-access-key\)/);
    assert.doesNotMatch(custom.stderr(), /hush-hush-secret/);
  });
  it('rejects a bad fault spec with a clear message', async () => {
    await assert.rejects(
      run(process.execPath, ['dist/cli/main.js', 'emulator', '--port', '0', '--faults', 'explode=1'], {
        env: cleanEnv(),
      }),
      /unknown fault "explode"/,
    );
  });
});

describe('bedrock-claude serve', () => {
  it('with no AWS credentials, runs on the built-in emulator, says so loudly, and answers the README curl', async () => {
    const { url, stderr } = await start(['serve', '--port', '0']);
    assert.match(stderr(), /EMULATOR MODE/);
    const res = await request(`${url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({
        model: 'claude-sonnet-4-5',
        max_tokens: 256,
        messages: [{ role: 'user', content: 'Hello, Claude on Bedrock' }],
      }),
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-bedrock-claude-backend'], 'emulator');
    const m = (await res.body.json()) as { content: Array<{ text: string }> };
    assert.equal(m.content[0]!.text, 'Hello, Claude on Bedrock');
    const head = await request(`${url}/`, { method: 'HEAD' });
    assert.equal(head.statusCode, 200);
    await head.body.text();
  });
  it('--no-emulator always means Bedrock (for instance roles, which are not probed at start-up)', async () => {
    const { url, stderr } = await start(['serve', '--port', '0', '--no-emulator']);
    assert.doesNotMatch(stderr(), /EMULATOR MODE/);
    const res = await request(`${url}/healthz`);
    assert.equal(((await res.body.json()) as { backend: string }).backend, 'bedrock');
  });
  it('takes AWS_DEFAULT_REGION when AWS_REGION is set but empty, and answers', async () => {
    const { url } = await start(
      ['serve', '--port', '0'],
      cleanEnv({ AWS_REGION: '', AWS_DEFAULT_REGION: 'eu-west-1' }),
    );
    const health = await request(`${url}/healthz`);
    assert.equal(((await health.body.json()) as { region: string }).region, 'eu-west-1');
    const res = await request(`${url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-bedrock-claude-model-id'], 'global.anthropic.claude-sonnet-4-5-20250929-v1:0');
    await res.body.text();
  });
  it('refuses to start on a region name that is not one, instead of failing every request', async () => {
    await assert.rejects(
      run(process.execPath, ['dist/cli/main.js', 'serve', '--port', '0', '--region', 'us-west'], {
        env: cleanEnv(),
        timeout: 20_000,
      }),
      /"us-west" is not an AWS region name/,
    );
  });
  it("says at start-up when the AWS credentials cannot be loaded, with the profile's own reason", async () => {
    const { url, stderr } = await start(['serve', '--port', '0'], cleanEnv({ AWS_PROFILE: 'no-such-profile' }));
    for (let i = 0; i < 200 && !/WARNING/.test(stderr()); i++) await new Promise((r) => setTimeout(r, 25));
    assert.match(
      stderr(),
      /WARNING: Could not load AWS credentials .*AWS_PROFILE is "no-such-profile": Could not resolve credentials using profile: \[no-such-profile\]/,
    );
    assert.doesNotMatch(stderr(), /EMULATOR MODE/);
    const res = await request(`${url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(res.statusCode, 500);
    assert.match(
      ((await res.body.json()) as { error: { message: string } }).error.message,
      /profile: \[no-such-profile\].*Fix: Configure credentials/,
    );
  });
  it('says which key it loaded at start-up (masked)', async () => {
    const { stderr } = await start(
      ['serve', '--port', '0', '--no-emulator'],
      cleanEnv({ AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE00004321', AWS_SECRET_ACCESS_KEY: 'not-a-real-secret' }),
    );
    for (let i = 0; i < 200 && !/credentials loaded/.test(stderr()); i++) await new Promise((r) => setTimeout(r, 25));
    assert.match(stderr(), /AWS credentials loaded \(access key AKIA…4321\)/);
    assert.doesNotMatch(stderr(), /not-a-real-secret/);
  });
  it('exits when its port is taken, with the fix, and leaves no emulator running behind it', async () => {
    const { createServer } = await import('node:net');
    const taken = createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const port = (taken.address() as { port: number }).port;
    try {
      // Before, the built-in emulator kept the process alive: `run` would time out instead of rejecting.
      const failed = await run(process.execPath, ['dist/cli/main.js', 'serve', '--port', String(port), '--no-store'], {
        env: cleanEnv(),
        timeout: 20_000,
      }).then(
        () => assert.fail('serve started on a taken port'),
        (err: { code?: number; killed?: boolean; stderr?: string }) => err,
      );
      assert.equal(failed.killed, false, 'it exited by itself');
      assert.equal(failed.code, 1, 'refused to start: exit 1');
      assert.match(failed.stderr ?? '', /EADDRINUSE/);
      assert.match(failed.stderr ?? '', new RegExp(`fix: Another process listens on 127\\.0\\.0\\.1:${port}`));
    } finally {
      taken.close();
    }
  });
  it('fails closed when the store cannot be opened (a newer schema, a damaged file): exits with the fix', async () => {
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const Database = (await import('better-sqlite3')).default;
    const newer = join(tempHome(), 'data-newer');
    mkdirSync(newer, { recursive: true });
    const db = new Database(join(newer, 'control.db'));
    db.pragma('user_version = 999'); // a release rollback: the store was written by a newer bedrock-claude
    db.close();
    const damaged = join(tempHome(), 'data-damaged');
    mkdirSync(damaged, { recursive: true });
    writeFileSync(join(damaged, 'control.db'), 'this is not a database, not even a little');
    for (const [dir, why] of [
      [newer, /schema version 999, newer than this bedrock-claude knows/],
      [damaged, /not a database/],
    ] as const) {
      const failed = await run(process.execPath, ['dist/cli/main.js', 'serve', '--port', '0', '--data-dir', dir], {
        env: cleanEnv(),
        timeout: 20_000,
      }).then(
        (r) => assert.fail(`served anyway: ${r.stdout}`),
        (err: { code?: number; killed?: boolean; stdout?: string; stderr?: string }) => err,
      );
      assert.equal(failed.killed, false, 'it exited by itself');
      assert.equal(failed.code, 1, 'refused to start: exit 1');
      assert.doesNotMatch(failed.stdout ?? '', /listening on/, 'it never listened');
      assert.match(failed.stderr ?? '', /the control plane's store cannot be opened/);
      assert.match(failed.stderr ?? '', why);
      assert.match(failed.stderr ?? '', /fix: .*--no-store/);
    }
  });
  it('prints no password of an upstream URL at start-up (user:pass@, ?password=)', async () => {
    const { stderr } = await start([
      'serve',
      '--port',
      '0',
      '--no-emulator',
      '--no-store',
      '--bedrock-endpoint',
      'http://gw:hunter2-secret@127.0.0.1:9/?password=also-secret',
    ]);
    assert.match(stderr(), /upstream http:\/\/gw:\*\*\*@127\.0\.0\.1:9\/\?password=\*\*\*/);
    assert.doesNotMatch(stderr(), /hunter2-secret|also-secret/);
  });
  it('refuses a non-loopback address without gateway keys', async () => {
    await assert.rejects(
      run(process.execPath, ['dist/cli/main.js', 'serve', '--host', '0.0.0.0', '--port', '0'], { env: cleanEnv() }),
      /refusing to listen on 0\.0\.0\.0 without gateway keys/,
    );
  });
});

describe('bedrock-claude keys create + serve --config', () => {
  it('prints a key once with its config lines; the gateway takes it and refuses others', async () => {
    const created = await run(process.execPath, ['dist/cli/main.js', 'keys', 'create', 'tester', '--config-entry'], {
      env: cleanEnv(),
    });
    const key = /^key: (\S+)$/m.exec(created.stdout)![1]!;
    const sha = /sha256: ([0-9a-f]{64})/.exec(created.stdout)![1]!;
    const { writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const dir = tempHome();
    const config = join(dir, 'gateway.yaml');
    writeFileSync(config, `port: 0\nemulator: true\nkeys:\n  - name: tester\n    sha256: ${sha}\n`);
    const { url } = await start(['serve', '--config', config]);
    const body = JSON.stringify({
      model: 'claude-haiku-4-5',
      max_tokens: 20,
      messages: [{ role: 'user', content: 'keyed' }],
    });
    const denied = await request(`${url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': 'bck-wrong' }, body });
    assert.equal(denied.statusCode, 401);
    assert.equal(((await denied.body.json()) as { error: { type: string } }).error.type, 'authentication_error');
    const ok = await request(`${url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': key }, body });
    assert.equal(ok.statusCode, 200);
    await ok.body.text();
  });
  it('starts from the example config on the emulator', async () => {
    const { url } = await start(['serve', '--config', 'gateway.example.yaml', '--emulator', '--port', '0']);
    const res = await request(`${url}/readyz`);
    assert.equal(res.statusCode, 200);
    await res.body.text();
  });
  it('explains a bad config and exits non-zero', async () => {
    const { writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const config = join(tempHome(), 'bad.yaml');
    writeFileSync(config, 'scope: everywhere\n');
    await assert.rejects(
      run(process.execPath, ['dist/cli/main.js', 'serve', '--config', config], { env: cleanEnv() }),
      /config: scope/,
    );
  });
});

describe('bedrock-claude resolve', () => {
  it('prints the ID, or the alternatives with exit 1', async () => {
    const ok = await run(process.execPath, ['dist/cli/main.js', 'resolve', 'opus-4.6', '--region', 'us-west-2'], {
      env: cleanEnv(),
    });
    assert.equal(ok.stdout.trim(), 'global.anthropic.claude-opus-4-6-v1');
    const json = await run(
      process.execPath,
      ['dist/cli/main.js', 'resolve', 'claude-haiku-4-5', '--region', 'eu-west-1', '--scope', 'geo', '--json'],
      { env: cleanEnv() },
    );
    assert.equal(
      (JSON.parse(json.stdout) as { modelId: string }).modelId,
      'eu.anthropic.claude-haiku-4-5-20251001-v1:0',
    );
    await assert.rejects(
      run(
        process.execPath,
        ['dist/cli/main.js', 'resolve', 'claude-haiku-4-5', '--region', 'ap-northeast-1', '--scope', 'geo'],
        { env: cleanEnv() },
      ),
      (e: { code: number; stderr: string }) =>
        e.code === 1 && /fix: .*global\.anthropic\.claude-haiku-4-5/.test(e.stderr),
    );
  });
});

describe('examples/quickstart.mjs (the README library example)', () => {
  it('runs', async () => {
    const r = await run(process.execPath, ['examples/quickstart.mjs'], { env: cleanEnv() });
    assert.match(r.stdout, /eu\.anthropic\.claude-sonnet-4-6/);
    assert.match(r.stdout, /Hello from the quick start/);
    assert.match(r.stdout, /Streamed, token by token/);
  });
});
