// Sign-in with two replicas behind one URL, on one PostgreSQL: a proxy hands each request to the next replica in
// turn, so the device flow's steps, the browser's and the dashboard's land on both. Device grants, refresh,
// sign-outs (told to the other replica at once by NOTIFY), dashboard sessions and the token's signing key are
// shared; nothing is kept in one process that the other needs.
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import type { RunningGateway } from '../../src/server/gateway.js';
import { gatewayOn, tempHome } from '../helpers.js';
import { browser, signInDevice } from '../identity/browser.js';
import { freePort, oidcConfigFor, startIdp, type RunningIdp } from '../identity/idp.js';
import { sharedServices, testSchema } from '../shared-services.js';
import { until } from './harness.js';

const skip = await sharedServices();
const ADMIN = 'sign-in-replicas-admin-key-0123456789';

/** A proxy on `port` that sends each request to the next of `targets`, and says which one served each path. */
function roundRobin(port: number, targets: () => string[]) {
  let next = 0;
  const served: Array<[string, number]> = [];
  const server: Server = createServer((req, res) => {
    const i = next++ % targets().length;
    served.push([`${req.method} ${(req.url ?? '').split('?')[0]}`, i]);
    const to = new URL(targets()[i]!);
    const out = httpRequest(
      { host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  return {
    served,
    listen: () => new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r())),
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

describe('sign-in on two replicas behind one URL (PostgreSQL)', { skip, timeout: 60_000 }, () => {
  let emu: RunningEmulator;
  let idp: RunningIdp;
  let a: RunningGateway;
  let b: RunningGateway;
  let proxy: ReturnType<typeof roundRobin>;
  let base = '';
  const db = testSchema('signin');

  before(async () => {
    emu = await startEmulator({ port: 0 });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    idp = await startIdp(`${base}/oauth/callback`);
    const replica = () =>
      gatewayOn(emu.url, {
        databaseUrl: db.url,
        dataDir: tempHome(),
        adminKey: ADMIN,
        publicUrl: base,
        identity: {
          oidc: oidcConfigFor(idp),
          session: { jwtSecret: 'a-shared-jwt-secret-of-more-than-32-characters', ttlHours: 1 },
          roles: { admins: ['claude-admins'] },
        },
      });
    a = await replica();
    b = await replica();
    proxy = roundRobin(port, () => [a.url, b.url]);
    await proxy.listen();
  });
  after(async () => {
    await proxy?.close();
    await a?.close(100);
    await b?.close(100);
    await idp?.close();
    await emu?.close();
    await db.drop();
  });

  const call = (url: string, token: string) =>
    fetch(`${url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
    }).then(async (r) => (await r.arrayBuffer(), r.status));

  it("the device flow's steps on either replica, the token good on both, refresh on either", async () => {
    const tokens = await signInDevice(base, idp, 'u-alice', () => undefined);
    const steps = new Map(proxy.served);
    assert.equal(new Set(proxy.served.map(([, i]) => i)).size, 2, 'both replicas served steps');
    assert.ok(steps.has('GET /oauth/callback') && steps.has('POST /oauth/token'));
    assert.deepEqual([await call(a.url, tokens.access_token), await call(b.url, tokens.access_token)], [200, 200]);
    for (const url of [a.url, b.url]) {
      const r = await fetch(`${url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }).toString(),
      });
      const fresh = (await r.json()) as { access_token: string };
      assert.equal(r.status, 200, JSON.stringify(fresh));
      assert.equal(await call(url === a.url ? b.url : a.url, fresh.access_token), 200, 'minted here, good there');
    }
  });

  it('a token revoked on one replica is refused by the other at once; an admin sign-out too', async () => {
    const tokens = await signInDevice(base, idp, 'u-bob', () => undefined);
    assert.equal(await call(b.url, tokens.access_token), 200);
    const revoked = await fetch(`${a.url}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.access_token }).toString(),
    });
    assert.equal(revoked.status, 200);
    assert.ok(await until(async () => (await call(b.url, tokens.access_token)) === 401, 3000, 20), 'B refuses it');
    const again = await signInDevice(base, idp, 'u-bob', () => undefined);
    assert.equal(await call(a.url, again.access_token), 200);
    const out = await fetch(`${b.url}/admin/people/u-bob/sign-out`, {
      method: 'POST',
      headers: { 'x-api-key': ADMIN },
    });
    assert.equal(out.status, 200);
    assert.ok(await until(async () => (await call(a.url, again.access_token)) === 401, 3000, 20), 'A refuses bob');
  });

  it("the dashboard's session made on one replica works on the other, CSRF token and all", async () => {
    const web = browser();
    idp.signInAs('u-alice');
    const { res } = await web.follow(`${base}/ui/login`);
    assert.match(await res.text(), /signed in/);
    const me = (await (await web.send(`${base}/admin/me`)).json()) as { role: string; csrf: string };
    assert.equal(me.role, 'admin');
    const from = proxy.served.length;
    for (const name of ['made-through-one', 'made-through-the-other']) {
      const made = await web.send(`${base}/admin/teams`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrf },
        body: JSON.stringify({ name }),
      });
      assert.equal(made.status, 201);
      await made.arrayBuffer();
    }
    assert.deepEqual(new Set(proxy.served.slice(from).map(([, i]) => i)), new Set([0, 1]), 'one on each replica');
  });
});
