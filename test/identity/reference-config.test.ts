// A Claude apps gateway's gateway.yaml read as it is: the reference kit's own file (copied from
// ../shared/claude-gateway-protocol/fixtures) parsed into bedrock-claude's config, every section we do not support
// refused by name at start-up, and the same kind of file started with `bedrock-claude serve --config` against a real
// identity provider, the emulator and PostgreSQL: sign-in answers, the named admin keys (one read-only) work.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startEmulator } from '../../src/emulator/emulator.js';
import { parseGatewayConfig } from '../../src/server/config.js';
import { CREDS, tempHome } from '../helpers.js';
import { sharedServices, testSchema } from '../shared-services.js';
import { freePort, startIdp } from './idp.js';

const FIXTURE = readFileSync(
  join(import.meta.dirname, '..', 'fixtures', 'claude-gateway', 'reference-gateway.yaml'),
  'utf8',
);
const ENV = {
  OIDC_CLIENT_SECRET: 'oidc-secret',
  GATEWAY_JWT_SECRET: 'a-test-jwt-secret-of-more-than-32-characters',
  EMU_AKID: 'AKIDEXAMPLE',
  EMU_SECRET: 'emulator-secret',
  GATEWAY_ADMIN_WRITE_KEY: 'write-key-0123456789abcdef0123456789',
  GATEWAY_ADMIN_READ_KEY: 'read-key-0123456789abcdef0123456789ab',
};
const skipShared = await sharedServices();

describe("a Claude apps gateway's gateway.yaml", () => {
  it("is read as bedrock-claude's own config, section by section", () => {
    const c = parseGatewayConfig(FIXTURE, ENV);
    assert.deepEqual([c.host, c.port, c.publicUrl], ['127.0.0.1', 53789, 'http://127.0.0.1:55707']);
    assert.deepEqual(
      [c.region, c.bedrockEndpoint, c.aws],
      ['us-east-1', 'http://127.0.0.1:37011', { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'emulator-secret' }],
    );
    assert.equal(c.store, 'postgres://postgres@127.0.0.1:5432/cag_10747a5f');
    const id = c.identity!;
    assert.deepEqual(
      [id.oidc.issuer, id.oidc.clientId, id.oidc.clientSecret, id.oidc.allowedEmailDomains, id.oidc.usePkce],
      ['http://127.0.0.1:37131', 'claude-gateway', 'oidc-secret', ['example.com'], true],
    );
    assert.deepEqual([id.session.jwtSecret, id.session.ttlHours], [ENV.GATEWAY_JWT_SECRET, 1]);
    assert.deepEqual(id.rateLimits, {
      deviceAuthorization: { max: 30, windowSeconds: 60 },
      deviceVerify: { max: 10, windowSeconds: 60 },
    });
    assert.deepEqual(c.adminKeys, [
      { id: 'terraform', key: ENV.GATEWAY_ADMIN_WRITE_KEY, write: true },
      { id: 'reporting', key: ENV.GATEWAY_ADMIN_READ_KEY, write: false },
    ]);
    assert.deepEqual([id.roles?.admins, id.blockedMessage], [['claude-admins'], 'ask in #claude-limits']);
    assert.equal(id.managed!.policies.length, 2);
    assert.deepEqual(id.managed!.policies[0]!.match, { groups: ['contractors'] });
    assert.deepEqual(id.telemetry!.forwardTo[0], {
      url: 'http://127.0.0.1:42545',
      headers: { Authorization: 'Bearer sink-test-token' },
      metrics: true,
      logs: true,
      traces: true,
    });
  });

  it('refuses what bedrock-claude does not do by name, with what to do instead', () => {
    const refused = (extra: string, replace?: [string, string]) => {
      const text = (replace ? FIXTURE.replace(replace[0], replace[1]) : FIXTURE) + extra;
      return assert.throws(() => parseGatewayConfig(text, ENV));
    };
    const said = (extra: string, replace?: [string, string]) => {
      try {
        parseGatewayConfig((replace ? FIXTURE.replace(replace[0], replace[1]) : FIXTURE) + extra, ENV);
      } catch (err) {
        return (err as Error).message;
      }
      return 'accepted';
    };
    refused('enforcement:\n  fail_closed_on_error: true\n');
    assert.match(said('enforcement:\n  fail_closed_on_error: true\n'), /enforcement: not supported by bedrock-claude/);
    assert.match(
      said('', ['provider: bedrock', 'provider: vertex']),
      /upstreams\[0\]\.provider: "vertex" is not supported/,
    );
    assert.match(said('', ['  ttl_hours: 1', '  ttl_hours: 1\n  refresh: 2']), /session\.refresh: not a key/);
    assert.match(said('', ['  port: 53789', '  port: 53789\n  tls: {}']), /listen\.tls: .*terminate TLS in front/);
    assert.match(
      said('', ['  allowed_email_domains', '  clock_skew_seconds: 5\n  allowed_email_domains']),
      /oidc\.clock_skew_seconds/,
    );
    assert.match(
      said('auto_include_builtin_models: false\n', ['auto_include_builtin_models: true\n', '']),
      /built-in catalog/,
    );
    assert.match(said('pricing: {}\n'), /pricing: .*models sync --prices/);
  });

  it('takes ${file:/path} for a secret mounted as a file', () => {
    const path = join(tempHome(), 'jwt-secret');
    writeFileSync(path, 'a-secret-from-a-file-of-more-than-32-chars\n');
    const c = parseGatewayConfig(FIXTURE.replace('${GATEWAY_JWT_SECRET}', `\${file:${path}}`), ENV);
    assert.equal(c.identity!.session.jwtSecret, 'a-secret-from-a-file-of-more-than-32-chars');
    assert.throws(
      () => parseGatewayConfig(FIXTURE.replace('${GATEWAY_JWT_SECRET}', '${file:/no/such/file}'), ENV),
      /cannot be read \(ENOENT\)/,
    );
  });
});

describe('bedrock-claude serve --config gateway.yaml (a Claude apps gateway file)', { skip: skipShared }, () => {
  const children: ChildProcess[] = [];
  const closers: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of children) {
      if (c.exitCode !== null) continue;
      c.kill('SIGTERM');
      await once(c, 'exit');
    }
    for (const close of closers) await close();
  });

  it('starts, serves sign-in, and the named admin keys read and write as their file says', async () => {
    const emu = await startEmulator({ port: 0 });
    const port = await freePort();
    const idp = await startIdp(`http://127.0.0.1:${port}/oauth/callback`);
    const db = testSchema('refcfg');
    closers.push(
      () => emu.close(),
      () => idp.close(),
      () => db.drop(),
    );
    const file = join(tempHome(), 'gateway.yaml');
    writeFileSync(
      file,
      FIXTURE.replace('port: 53789', `port: ${port}`)
        .replace('http://127.0.0.1:55707', `http://127.0.0.1:${port}`)
        .replace('http://127.0.0.1:37131', idp.issuer)
        .replace('claude-gateway\n', `${idp.clientId}\n`)
        .replace(/postgres_url: .*/, `postgres_url: ${db.url}`)
        .replace('http://127.0.0.1:37011', emu.url),
    );
    const env = Object.assign(
      { PATH: process.env['PATH'] ?? '', HOME: tempHome(), AWS_EC2_METADATA_DISABLED: 'true' },
      ENV,
      { OIDC_CLIENT_SECRET: idp.clientSecret, EMU_AKID: CREDS.accessKeyId, EMU_SECRET: CREDS.secretAccessKey },
    );
    const child = spawn(process.execPath, ['dist/cli/main.js', 'serve', '--config', file], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    let out = '';
    for await (const chunk of child.stdout!) if (/listening on/.test((out += chunk))) break;
    assert.match(out, new RegExp(`listening on http://127.0.0.1:${port}`), err);
    const base = `http://127.0.0.1:${port}`;
    const meta = (await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json()) as { issuer: string };
    assert.equal(meta.issuer, base);
    const device = await fetch(`${base}/oauth/device_authorization`, {
      method: 'POST',
      body: new URLSearchParams({ surface: 'claude_code' }),
    });
    assert.equal(device.status, 200);
    await device.arrayBuffer();
    const admin = (key: string, method: string, body?: unknown) =>
      fetch(`${base}/admin/teams`, {
        method,
        headers: { 'x-api-key': key, 'content-type': 'application/json' },
        body: body === undefined ? null : JSON.stringify(body),
      });
    assert.equal((await admin(ENV.GATEWAY_ADMIN_WRITE_KEY, 'POST', { name: 'platform' })).status, 201);
    const read = await admin(ENV.GATEWAY_ADMIN_READ_KEY, 'GET');
    assert.equal(read.status, 200);
    await read.arrayBuffer();
    const write = await admin(ENV.GATEWAY_ADMIN_READ_KEY, 'POST', { name: 'nope' });
    assert.equal(write.status, 403);
    assert.match(((await write.json()) as { error: { message: string } }).error.message, /"reporting" may only read/);
    const audit = (await (
      await fetch(`${base}/admin/audit?limit=1`, { headers: { 'x-api-key': ENV.GATEWAY_ADMIN_WRITE_KEY } })
    ).json()) as { data: Array<{ actor: string; action: string }> };
    assert.deepEqual([audit.data[0]!.actor, audit.data[0]!.action], ['admin-key:terraform', 'team.create']);
  });
});
