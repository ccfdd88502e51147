// Issue 25, item 11: a password in a database or Redis URL is never printed: not at start-up, not when
// the store cannot be reached, not in the log, `/readyz` or `/metrics` once Redis fails.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { request } from 'undici';
import { tempHome } from '../helpers.js';

const SECRET = 'hunter2secret';
const exec = promisify(execFile);
const env = () => ({ PATH: process.env['PATH'] ?? '', HOME: tempHome(), AWS_EC2_METADATA_DISABLED: 'true' });

describe('passwords in URLs are never printed', { timeout: 60_000 }, () => {
  for (const url of [
    `postgres://postgres:${SECRET}@127.0.0.1:1/x`,
    `postgres://postgres@127.0.0.1:1/x?password=${SECRET}`,
    `postgres://postgres:${SECRET}@[not-a-host/x`,
  ]) {
    it(`a store that cannot be reached: ${url.replace(SECRET, '***')}`, async () => {
      const failed = await exec(
        process.execPath,
        ['dist/cli/main.js', 'serve', '--emulator', '--port', '0', '--database-url', url],
        { env: env(), timeout: 30_000 },
      ).then(
        () => assert.fail('served'),
        (err: { code?: number; stdout?: string; stderr?: string }) => err,
      );
      assert.ok(
        failed.code === 1 || failed.code === 3,
        `exit 1 (refused) or 3 (not reached), not ${failed.code}: ${failed.stderr}`,
      );
      const all = `${failed.stdout}${failed.stderr}`;
      assert.match(all, /cannot be opened|cannot be reached|connect|does not parse/i);
      assert.doesNotMatch(all, new RegExp(SECRET));
    });
  }

  it('Redis that fails under a running gateway: the log, /readyz and /metrics show no password', async () => {
    const home = tempHome();
    const dataDir = join(home, 'data');
    const e = Object.assign(env(), { HOME: home });
    const created = await exec(
      process.execPath,
      ['dist/cli/main.js', 'keys', 'create', 'limited', '--rpm', '100', '--data-dir', dataDir, '--json'],
      { env: e },
    );
    const key = (JSON.parse(created.stdout) as { key: string }).key;
    const child = spawn(
      process.execPath,
      [
        'dist/cli/main.js',
        'serve',
        '--emulator',
        '--port',
        '0',
        '--data-dir',
        dataDir,
        '--redis-url',
        `redis://default:${SECRET}@127.0.0.1:1/0`,
      ],
      { env: e, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout!.on('data', (d: Buffer) => void (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => void (out += d.toString()));
    const exited = once(child, 'exit');
    try {
      let url = '';
      for (let i = 0; i < 400 && !url; i++) {
        url = /listening on (http:\/\/[0-9.:]+)/.exec(out)?.[1] ?? '';
        if (!url) await new Promise((r) => setTimeout(r, 25));
      }
      assert.ok(url, out);
      const res = await request(`${url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(res.statusCode, 200, await res.body.text());
      const ready = await (await request(`${url}/readyz`)).body.text();
      assert.match(ready, /Redis at redis:\/\/default:\*\*\*@127\.0\.0\.1:1/, ready);
      const metrics = await (await request(`${url}/metrics`)).body.text();
      for (const shown of [ready, metrics]) assert.doesNotMatch(shown, new RegExp(SECRET));
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    assert.doesNotMatch(out, new RegExp(SECRET), 'nor the log');
  });
});
