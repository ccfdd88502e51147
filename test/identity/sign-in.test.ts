/**
 * Claude Code's gateway login against bedrock-claude, with a real OpenID Connect provider on 127.0.0.1: the device
 * flow walked with HTTP calls as the CLI and a browser make them, each of its errors, the token on a model call,
 * refresh (groups re-read; a person removed at the provider is refused), a domain the gateway refuses, a denial and
 * a cross-site post. The gateway's clock is driven; the provider keeps real time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { openSqliteControlStore } from '../../src/control/sqlite-store.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import type { RunningGateway } from '../../src/server/gateway.js';
import { gatewayOn, tempHome } from '../helpers.js';
import { approveInBrowser as approveWith } from './browser.js';
import { freePort, oidcConfigFor, startIdp, type RunningIdp } from './idp.js';

let emu: RunningEmulator;
let idp: RunningIdp;
let gw: RunningGateway;
let now = Date.UTC(2026, 11, 6, 12);
const dataDir = tempHome();
const ADMIN_KEY = 'an-admin-key-for-the-sign-in-tests-0123456789';
const SECRET = 'a-test-jwt-secret-of-more-than-32-characters';
const REFERENCE_BASE = {
  availableModels: ['claude-opus-4-8', 'claude-sonnet-4-6', 'claude-haiku-4-5'],
  permissions: { allow: ['Read', 'Grep'], deny: ['Read(./.env)'] },
  env: {
    CLAUDE_CODE_ENABLE_TELEMETRY: '1',
    OTEL_METRICS_EXPORTER: 'otlp',
    OTEL_LOGS_EXPORTER: 'otlp',
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:55707',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    DISABLE_UPDATES: '1',
  },
};

/** A fixture of the reference gateway's capture: its body. */
function referenceBody(name: string): { checksum: string; settings: unknown } {
  // Copied from the capture in ../shared/claude-gateway-protocol/fixtures (a fresh clone has only the repository).
  const text = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'claude-gateway', `${name}.http`), 'utf8');
  return JSON.parse(text.slice(text.search(/\r?\n\r?\n/)).trim()) as { checksum: string; settings: unknown };
}

/** An OTLP collector on 127.0.0.1: what it received, and a promise for the next one. */
const sink = {
  server: createServer(),
  got: [] as Array<{ url: string; headers: Record<string, unknown>; body: Buffer }>,
  next: () => Promise.resolve(),
};
let arrived: () => void = () => undefined;
sink.next = () => new Promise<void>((r) => (arrived = r));
sink.server.on('request', (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    sink.got.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
    res.end();
    arrived();
  });
});

before(async () => {
  emu = await startEmulator({ port: 0 });
  await new Promise<void>((r) => sink.server.listen(0, '127.0.0.1', () => r()));
  const sinkUrl = `http://127.0.0.1:${(sink.server.address() as AddressInfo).port}`;
  const port = await freePort();
  idp = await startIdp(`http://127.0.0.1:${port}/oauth/callback`);
  gw = await gatewayOn(emu.url, {
    port,
    dataDir,
    adminKey: ADMIN_KEY,
    clock: () => now,
    identity: {
      oidc: oidcConfigFor(idp, { allowedEmailDomains: ['example.com'] }),
      session: { jwtSecret: SECRET, ttlHours: 1 },
      telemetry: {
        forwardTo: [
          {
            url: sinkUrl,
            headers: { authorization: 'Bearer sink-test-token' },
            metrics: true,
            logs: true,
            traces: false,
          },
        ],
      },
      // The reference gateway's two policies (its capture's `contractors` first, then the catch-all), with the
      // telemetry env it injected written out, so that the documents and checksums can be compared with its own.
      managed: {
        policies: [
          {
            name: 'contractors',
            match: { groups: ['contractors'] },
            settings: {
              availableModels: ['claude-haiku-4-5'],
              permissions: { deny: ['WebFetch'] },
              enforceAvailableModels: true,
            },
          },
          { name: 'everyone', match: {}, settings: REFERENCE_BASE },
        ],
      },
    },
  });
});
after(async () => {
  sink.server.close();
  await gw.close(100);
  await idp.close();
  await emu.close();
});

const form = (fields: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
});
const token = (fields: Record<string, string>) => fetch(`${gw.url}/oauth/token`, form(fields));
const poll = (deviceCode: string) =>
  token({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: deviceCode });

async function startDeviceFlow() {
  const res = await fetch(`${gw.url}/oauth/device_authorization`, form({ surface: 'claude_code' }));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  return (await res.json()) as {
    device_code: string;
    user_code: string;
    verification_uri_complete: string;
    interval: number;
  };
}

/** The person approves the code in a browser and signs in at the provider; answers the last page's text. */
function approveInBrowser(userCode: string, who: string): Promise<string> {
  idp.signInAs(who);
  return approveWith(gw.url, idp.issuer, userCode);
}

describe('sign-in: the device flow with a real identity provider', () => {
  let access = '';
  let refresh = '';

  it('publishes its metadata', async () => {
    const meta = (await (await fetch(`${gw.url}/.well-known/oauth-authorization-server`)).json()) as Record<
      string,
      unknown
    >;
    assert.equal(meta['issuer'], gw.url);
    assert.equal(meta['device_authorization_endpoint'], `${gw.url}/oauth/device_authorization`);
    assert.equal(meta['token_endpoint'], `${gw.url}/oauth/token`);
    assert.equal(meta['gateway_protocol_version'], 1);
    const page = await fetch(`${gw.url}/protocol`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/markdown; charset=utf-8');
    const text = await page.text();
    assert.match(text, new RegExp(`GET ${gw.url}/\\.well-known/oauth-authorization-server`));
    assert.match(text, /`GET \/managed\/settings` \(on\)/, 'says what the running config turns on');
  });

  it('a person signs in: pending, slow_down, approved once, then expired; the token calls models', async () => {
    const flow = await startDeviceFlow();
    assert.match(flow.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    assert.equal(flow.interval, 5);
    let r = await poll(flow.device_code);
    assert.deepEqual([r.status, await r.json()], [400, { error: 'authorization_pending' }]);
    r = await poll(flow.device_code);
    assert.deepEqual([r.status, await r.json()], [429, { error: 'slow_down' }]);
    assert.match(await approveInBrowser(flow.user_code, 'u-alice'), /You&#39;re signed in|You're signed in/);
    now += 5_000;
    r = await poll(flow.device_code);
    const body = (await r.json()) as {
      access_token: string;
      refresh_token: string;
      token_type: string;
      expires_in: number;
    };
    assert.equal(r.status, 200, JSON.stringify(body));
    assert.equal(body.token_type, 'Bearer');
    // An hour (ttlHours), but no longer than the provider's access token the gateway checks alice with (an hour,
    // issued at the callback, 5 s earlier by the gateway's clock; the provider counts its second in real time).
    assert.ok(body.expires_in >= 3590 && body.expires_in <= 3595, String(body.expires_in));
    const claims = decodeJwt(body.access_token);
    assert.deepEqual(
      [claims.sub, claims['email'], claims['groups'], claims.aud, claims.iss],
      ['u-alice', 'alice@example.com', ['engineering', 'claude-admins'], idp.clientId, gw.url],
    );
    assert.ok(body.refresh_token);
    access = body.access_token;
    refresh = body.refresh_token;
    now += 5_000;
    r = await poll(flow.device_code);
    assert.deepEqual([r.status, await r.json()], [400, { error: 'expired_token' }], 'handed out once');

    const call = (auth: string | undefined) =>
      fetch(`${gw.url}/v1/messages`, {
        method: 'POST',
        headers: Object.assign({ 'content-type': 'application/json' }, auth ? { authorization: `Bearer ${auth}` } : {}),
        body: JSON.stringify({
          model: 'claude-haiku-4-5',
          max_tokens: 10,
          messages: [{ role: 'user', content: 'hi' }],
        }),
      });
    assert.equal((await call(access)).status, 200);
    assert.equal((await call(undefined)).status, 401, 'sign-in on: no key, no call');
    const [h, p, s] = access.split('.');
    assert.equal((await call(`${h}.${p}.${s!.slice(0, -4)}AAAA`)).status, 401, 'a forged signature');
    now += 3_601_000;
    assert.equal((await call(access)).status, 401, 'expired after an hour');
  });

  it('refresh re-reads the person at the provider; one removed there is refused (invalid_grant)', async () => {
    idp.users.get('u-alice')!.groups = ['engineering'];
    let r = await token({ grant_type: 'refresh_token', refresh_token: refresh });
    const body = (await r.json()) as { access_token: string; refresh_token: string };
    assert.equal(r.status, 200, JSON.stringify(body));
    assert.deepEqual(decodeJwt(body.access_token)['groups'], ['engineering']);
    idp.users.delete('u-alice');
    r = await token({ grant_type: 'refresh_token', refresh_token: body.refresh_token });
    assert.deepEqual([r.status, await r.json()], [401, { error: 'invalid_grant' }]);
    r = await token({ grant_type: 'refresh_token' });
    assert.deepEqual([r.status, await r.json()], [400, { error: 'invalid_request' }]);
  });

  it('a domain the gateway refuses, a denial and a cross-site post end in access_denied or a blocked page', async () => {
    const carol = await startDeviceFlow();
    assert.match(await approveInBrowser(carol.user_code, 'u-carol'), /email domain not allowed/);
    now += 5_000;
    let r = await poll(carol.device_code);
    assert.deepEqual([r.status, await r.json()], [400, { error: 'access_denied' }]);

    const denied = await startDeviceFlow();
    const deny = await fetch(
      `${gw.url}/device/deny`,
      Object.assign(form({ user_code: denied.user_code }), {
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
      }),
    );
    assert.match(await deny.text(), /You stopped this sign-in/);
    now += 5_000;
    r = await poll(denied.device_code);
    assert.deepEqual([r.status, await r.json()], [400, { error: 'access_denied' }]);

    const other = await startDeviceFlow();
    const cross = await fetch(
      `${gw.url}/device`,
      Object.assign(form({ user_code: other.user_code }), {
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'cross-site' },
        redirect: 'manual' as const,
      }),
    );
    assert.equal(cross.status, 200);
    assert.match(await cross.text(), /came from another site and was blocked/);
  });

  it("answers the token endpoint's other errors in OAuth's words", async () => {
    let r = await token({ grant_type: 'password', username: 'x' });
    assert.deepEqual([r.status, await r.json()], [400, { error: 'unsupported_grant_type' }]);
    r = await token({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code' });
    assert.deepEqual([r.status, await r.json()], [400, { error: 'invalid_request' }]);
    r = await poll('no-such-device-code');
    assert.deepEqual([r.status, await r.json()], [400, { error: 'expired_token' }]);
    r = await fetch(`${gw.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.deepEqual([r.status, await r.json()], [400, { error: 'invalid_request' }]);
  });
});

describe('managed settings for a signed-in person', () => {
  /** A person signed in for real, as the device flow hands out their token. */
  async function signIn(who: string): Promise<string> {
    const flow = await startDeviceFlow();
    await approveInBrowser(flow.user_code, who);
    now += 5_000;
    const r = await poll(flow.device_code);
    return ((await r.json()) as { access_token: string }).access_token;
  }
  const get = (token: string | undefined, headers: Record<string, string> = {}) =>
    fetch(`${gw.url}/managed/settings`, {
      headers: Object.assign(token ? { authorization: `Bearer ${token}` } : {}, headers),
    });

  it("the first matching policy on the catch-all, the reference's documents and checksums, ETag and 304", async () => {
    idp.users.set('u-alice', {
      email: 'alice@example.com',
      name: 'Alice Admin',
      groups: ['engineering', 'claude-admins'],
    });
    const alice = await signIn('u-alice');
    const r = await get(alice);
    const body = (await r.json()) as { uuid: string; checksum: string; settings: unknown };
    const reference = referenceBody('040-managed-settings-alice');
    assert.deepEqual(
      [r.status, body.settings, body.checksum, body.uuid],
      [200, reference.settings, reference.checksum, reference.checksum],
    );
    assert.equal(r.headers.get('etag'), `"${reference.checksum}"`);
    assert.equal(r.headers.get('vary'), 'User-Agent');
    const same = await get(alice, { 'if-none-match': `"${reference.checksum}"` });
    assert.deepEqual([same.status, await same.text()], [304, '']);
    assert.equal((await get(alice, { 'if-none-match': '"sha256:stale"' })).status, 200);

    // bob is a contractor: his policy replaces the allow-list of models and adds to the deny-list.
    const bob = await signIn('u-bob');
    const b = (await (await get(bob)).json()) as { checksum: string; settings: unknown };
    const bobs = referenceBody('044-managed-settings-bob');
    assert.deepEqual([b.settings, b.checksum], [bobs.settings, bobs.checksum]);
  });

  it('refuses a missing or bad token with the same 401', async () => {
    for (const token of [undefined, 'eyJhbGciOiJIUzI1NiJ9.e30.x']) {
      const r = await get(token);
      const body = (await r.json()) as { type: string; error: { type: string; message: string } };
      assert.deepEqual(
        [r.status, body.type, body.error],
        [401, 'error', { type: 'authentication_error', message: 'invalid token' }],
      );
    }
  });
});

describe('the OpenTelemetry relay', () => {
  it("forwards a signed-in client's export byte for byte with the destination's own headers, only the signals it wants", async () => {
    const flow = await startDeviceFlow();
    await approveInBrowser(flow.user_code, 'u-bob');
    now += 5_000;
    const bob = ((await (await poll(flow.device_code)).json()) as { access_token: string }).access_token;
    // Bob's settings point his exporters at the gateway (his policy's own env would win).
    const settings = (await (
      await fetch(`${gw.url}/managed/settings`, { headers: { authorization: `Bearer ${bob}` } })
    ).json()) as {
      settings: { env: Record<string, string> };
    };
    assert.equal(settings.settings.env['OTEL_EXPORTER_OTLP_ENDPOINT'], 'http://127.0.0.1:55707', 'the policy wins');
    const body = gzipSync(Buffer.from([10, 3, 1, 2, 3, 0, 255, 7]));
    const send = (signal: string, auth = `Bearer ${bob}`) =>
      fetch(`${gw.url}/v1/${signal}`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' },
        body,
      });
    const got = sink.next();
    const r = await send('metrics');
    assert.equal(r.status, 200);
    await got;
    const received = sink.got.at(-1)!;
    assert.equal(received.url, '/v1/metrics');
    assert.deepEqual(received.body, body, 'byte for byte, still compressed');
    assert.equal(received.headers['authorization'], 'Bearer sink-test-token', "the destination's, never the person's");
    assert.equal(received.headers['content-type'], 'application/x-protobuf');
    assert.equal(received.headers['content-encoding'], 'gzip');
    const before = sink.got.length;
    assert.equal((await send('traces')).status, 200, 'answered even when no destination wants it');
    const logs = sink.next();
    assert.equal((await send('logs')).status, 200);
    await logs;
    assert.deepEqual(
      sink.got.slice(before).map((g) => g.url),
      ['/v1/logs'],
      'traces were not wanted',
    );
    assert.equal((await send('metrics', 'Bearer nope')).status, 401);
  });
});

describe("a signed-in person's models", () => {
  it('are what their policy allows: listed, called (dated names too), refused otherwise, and in the ledger as theirs', async () => {
    const flow = await startDeviceFlow();
    await approveInBrowser(flow.user_code, 'u-bob');
    now += 5_000;
    const bob = ((await (await poll(flow.device_code)).json()) as { access_token: string }).access_token;
    const auth = { authorization: `Bearer ${bob}` };
    const listed = (await (await fetch(`${gw.url}/v1/models`, { headers: auth })).json()) as {
      data: Array<{ id: string }>;
    };
    assert.deepEqual(
      listed.data.map((m) => m.id),
      ['claude-haiku-4-5'],
    );
    const call = (model: string) =>
      fetch(`${gw.url}/v1/messages`, {
        method: 'POST',
        headers: Object.assign({ 'content-type': 'application/json' }, auth),
        body: JSON.stringify({ model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
      });
    for (const model of ['claude-haiku-4-5', 'claude-haiku-4-5-20251001']) {
      const r = await call(model);
      assert.equal(r.status, 200, await r.text());
    }
    const refused = await call('claude-opus-5');
    assert.equal(refused.status, 403);
    assert.match(
      ((await refused.json()) as { error: { message: string } }).error.message,
      /may not call the model "claude-opus-5"/,
    );
    await gw.flushLedger();
    const store = openSqliteControlStore(dataDir);
    const rows = (await store.requests({ since: 0, until: now + 1, limit: 50, user: 'bob@example.com' })).filter(
      (r) => r.model !== null,
    );
    await store.close();
    assert.deepEqual(rows.map((r) => [r.status, r.model, r.clientModel]).sort(), [
      [200, 'claude-haiku-4-5', 'claude-haiku-4-5'],
      [200, 'claude-haiku-4-5', 'claude-haiku-4-5-20251001'],
      [403, 'claude-opus-5', 'claude-opus-5'],
    ]);
    assert.ok(rows.every((r) => r.keyName === 'oidc:bob@example.com' && r.keyId === 'oidc:u-bob'));
  });
});

describe('signing out', () => {
  async function signIn(who: string) {
    const flow = await startDeviceFlow();
    await approveInBrowser(flow.user_code, who);
    now += 5_000;
    return (await (await poll(flow.device_code)).json()) as { access_token: string; refresh_token: string };
  }
  const status = async (token: string) =>
    (
      await fetch(`${gw.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
      })
    ).status;

  it('a device signs its own token out (RFC 7009); its other sessions stay', async () => {
    idp.users.set('u-alice', { email: 'alice@example.com', name: 'Alice Admin', groups: ['engineering'] });
    const one = await signIn('u-alice');
    const two = await signIn('u-alice');
    assert.deepEqual([await status(one.access_token), await status(two.access_token)], [200, 200]);
    const r = await fetch(`${gw.url}/oauth/revoke`, form({ token: one.access_token }));
    assert.equal(r.status, 200);
    assert.deepEqual([await status(one.access_token), await status(two.access_token)], [401, 200]);
    const meta = (await (await fetch(`${gw.url}/.well-known/oauth-authorization-server`)).json()) as Record<
      string,
      string
    >;
    assert.equal(meta['revocation_endpoint'], `${gw.url}/oauth/revoke`);
  });

  it('an admin signs a person out everywhere: their tokens and refresh are refused; a new sign-in works', async () => {
    const bob = await signIn('u-bob');
    assert.equal(await status(bob.access_token), 200);
    now += 1; // the sign-out comes after the sign-in (tokens are compared to the ms)
    const r = await fetch(`${gw.url}/admin/people/oidc%3Au-bob/sign-out`, {
      method: 'POST',
      headers: { 'x-api-key': ADMIN_KEY },
    });
    assert.equal(r.status, 200, await r.clone().text());
    assert.equal(((await r.json()) as { subject: string }).subject, 'u-bob');
    assert.equal(await status(bob.access_token), 401);
    const settings = await fetch(`${gw.url}/managed/settings`, {
      headers: { authorization: `Bearer ${bob.access_token}` },
    });
    assert.equal(settings.status, 401);
    const refreshed = await token({ grant_type: 'refresh_token', refresh_token: bob.refresh_token });
    assert.deepEqual([refreshed.status, await refreshed.json()], [401, { error: 'invalid_grant' }]);
    now += 1_000;
    const again = await signIn('u-bob');
    assert.equal(await status(again.access_token), 200, 'signing in again through the provider works');
    const noKey = await fetch(`${gw.url}/admin/people/u-bob/sign-out`, { method: 'POST' });
    assert.equal(noKey.status, 401);
  });
});

describe('sign-in configuration', () => {
  it('is read from the gateway config, with defaults; a weak secret or an unknown key is refused by name', async () => {
    const { parseGatewayConfig } = await import('../../src/server/config.js');
    const yaml = (secret: string, extra = '') =>
      `region: us-west-2\npublicUrl: https://claude.example.com\nidentity:\n  oidc:\n    issuer: https://idp.example.com\n` +
      `    clientId: gw\n${extra}  session:\n    jwtSecret: ${secret}\n`;
    const config = parseGatewayConfig(yaml('x'.repeat(40)));
    assert.deepEqual(config.identity?.oidc.scopes, ['openid', 'profile', 'email', 'offline_access']);
    assert.equal(config.identity?.session.ttlHours, 1);
    assert.throws(() => parseGatewayConfig(yaml('short')), /jwtSecret/);
    assert.throws(() => parseGatewayConfig(yaml('x'.repeat(40), '    tenant: x\n')), /tenant/);
  });
});
