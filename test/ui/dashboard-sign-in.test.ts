// The dashboard signed in through a real OpenID Connect provider, in Chromium: each role sees and changes only what
// it may (a member their own keys, a team admin their team, an admin everything and the audit log), every change
// the page makes carries the session's CSRF token, a change without it is refused, and a cross-site form post does
// not carry the session at all (SameSite=Strict).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import type { RunningGateway } from '../../src/server/gateway.js';
import { gatewayOn, tempHome } from '../helpers.js';
import { freePort, oidcConfigFor, startIdp, type RunningIdp } from '../identity/idp.js';
import { browserMissing, launch } from './browser.js';

const skip = browserMissing();
const ADMIN = 'dashboard-sign-in-admin-key-0123456789abcdef';

describe('dashboard signed in through the identity provider, in Chromium', { skip, timeout: 180_000 }, () => {
  let emu: RunningEmulator;
  let idp: RunningIdp;
  let gw: RunningGateway;
  let browser: Browser;
  let attacker: Server;
  const problems: string[] = [];

  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${gw.url}${path}`, {
      method,
      headers: { 'x-api-key': ADMIN, 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    });
    return (await res.json()) as Record<string, unknown>;
  };

  /** A browser of its own for one person, signed in through the provider's page. */
  async function signedIn(who: string): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('dialog', (d) => void d.accept());
    idp.signInAs(who);
    await page.goto(`${gw.url}/ui`);
    await page.click('[data-login=idp]');
    await page.waitForSelector('[data-page=overview]');
    return { context, page };
  }

  before(async () => {
    emu = await startEmulator({ port: 0 });
    const port = await freePort();
    idp = await startIdp(`http://127.0.0.1:${port}/oauth/callback`);
    gw = await gatewayOn(emu.url, {
      port,
      dataDir: tempHome(),
      adminKey: ADMIN,
      identity: {
        oidc: oidcConfigFor(idp),
        session: { jwtSecret: 'a-test-jwt-secret-of-more-than-32-characters', ttlHours: 1 },
        roles: { admins: ['claude-admins'], teamAdmins: { leads: 'eng' } },
        groups: { engineering: 'eng' },
      },
    });
    await admin('POST', '/admin/teams', { name: 'eng' });
    await admin('POST', '/admin/teams', { name: 'sales' });
    await admin('POST', '/admin/keys', { name: 'eng-ci', team: 'eng', user: 'ci' });
    await admin('POST', '/admin/keys', { name: 'sales-bot', team: 'sales', user: 'bot' });
    idp.users.set('u-carol', { email: 'carol@example.com', name: 'Carol Lead', groups: ['engineering', 'leads'] });
    // The other site: a page on "localhost" (another site than 127.0.0.1) that posts a form to the admin API.
    attacker = createServer((req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(
        `<form id="f" method="post" action="${gw.url}/admin/keys" enctype="text/plain">` +
          '<input name=\'{"name":"planted","x":"\' value=\'"}\'></form><script>f.submit()</script>',
      );
    });
    await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', () => r()));
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    attacker?.close();
    await gw?.close(100);
    await idp?.close();
    await emu?.close();
  });

  it('a member signs in at the provider and sees their own keys only; makes one; no Live, no Audit', async () => {
    const { context, page } = await signedIn('u-bob');
    const cookie = (await context.cookies()).find((c) => c.name === 'bc_session')!;
    assert.deepEqual([cookie.httpOnly, cookie.secure, cookie.sameSite], [true, true, 'Strict']);
    assert.equal(await page.textContent('nav .who'), 'bob@example.com · member');
    assert.deepEqual(await page.$$eval('nav a', (as) => as.map((a) => a.textContent)), [
      'Overview',
      'Keys and teams',
      'Requests',
    ]);
    await page.goto(`${gw.url}/ui#/keys`);
    await page.waitForSelector('[data-page=keys]');
    assert.equal(await page.textContent('[data-page=keys] h1'), 'Your keys');
    assert.equal(await page.locator('form[data-form=create-key] [name=team]').count(), 0);
    assert.equal(await page.locator('form[data-form=create-team]').count(), 0);
    await page.fill('form[data-form=create-key] [name=name]', 'bob-laptop');
    await page.click('form[data-form=create-key] button[type=submit]');
    await page.waitForSelector('[data-secret-for=bob-laptop]');
    assert.deepEqual(
      await page.$$eval('[data-table=keys] [data-key-name]', (els) => els.map((e) => e.textContent)),
      ['bob-laptop'],
      "eng-ci and sales-bot are not bob's to see",
    );
    // A change made from the page's own script without the token: refused.
    const status = await page.evaluate(async () => {
      const r = await fetch('/admin/keys', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'no-token' }),
      });
      return r.status;
    });
    assert.equal(status, 403);
    // Another site's form post: the Strict cookie does not go along, so the admin API sees nobody.
    const other = await context.newPage();
    const refused = other.waitForResponse((r) => r.url() === `${gw.url}/admin/keys`);
    await other.goto(`http://localhost:${(attacker.address() as AddressInfo).port}/`);
    assert.equal((await refused).status(), 401);
    const names = ((await admin('GET', '/admin/keys'))['data'] as Array<{ name: string }>).map((k) => k.name);
    assert.ok(!names.includes('planted') && !names.includes('no-token'), names.join(','));
    await context.close();
  });

  it("a team admin sees their team's keys and makes keys in it, not in another team", async () => {
    const { context, page } = await signedIn('u-carol');
    assert.equal(await page.textContent('nav .who'), 'carol@example.com · team-admin');
    await page.goto(`${gw.url}/ui#/keys`);
    await page.waitForSelector('[data-page=keys]');
    assert.deepEqual(
      await page.$$eval('form[data-form=create-key] [name=team] option', (os) => os.map((o) => o.textContent)),
      ['(none)', 'eng'],
    );
    await page.fill('form[data-form=create-key] [name=name]', 'eng-deploy');
    await page.selectOption('form[data-form=create-key] [name=team]', 'eng');
    await page.click('form[data-form=create-key] button[type=submit]');
    await page.waitForSelector('[data-secret-for=eng-deploy]');
    assert.deepEqual(
      (await page.$$eval('[data-table=keys] [data-key-name]', (els) => els.map((e) => e.textContent))).sort(),
      ['eng-ci', 'eng-deploy'],
    );
    assert.deepEqual(await page.$$eval('[data-table=teams] .name', (els) => els.map((e) => e.textContent)), ['eng']);
    await context.close();
  });

  it('an admin sees everything and the audit log: each change, who made it, through what', async () => {
    const { context, page } = await signedIn('u-alice');
    assert.equal(await page.textContent('nav .who'), 'alice@example.com · admin');
    await page.click('nav a[href="#/audit"]');
    await page.waitForSelector('[data-table=audit]');
    const rows = await page.$$eval('[data-table=audit] tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
    );
    const line = (action: string, target: (t: string) => boolean) =>
      rows.find((r) => r[4] === action && target(r[5] ?? ''));
    assert.deepEqual(line('key.create', () => true)?.slice(1, 3), ['oidc:u-carol', 'dashboard'], 'the newest first');
    assert.ok(rows.some((r) => r[1] === 'oidc:u-bob' && r[4] === 'key.create'));
    assert.ok(rows.some((r) => r[1] === 'admin-key' && r[2] === 'api' && r[4] === 'team.create' && r[5] === 'sales'));
    await page.click('nav .signout');
    await page.waitForSelector('[data-login=idp]');
    assert.equal((await context.cookies()).filter((c) => c.name === 'bc_session').length, 0, 'the cookie is gone');
    await context.close();
    assert.deepEqual(problems, []);
  });
});
