// The dashboard in a real browser (Debian's Chromium, playwright-core), on a gateway on the
// emulator: sign-in, the overview's totals against /admin/usage, a key created in the page and used,
// then revoked in the page and refused, a script in a key's name shown as text, and no sideways
// scroll on a laptop or a phone.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import type { Browser, Page } from 'playwright-core';
import { request } from 'undici';
import { createCredentialCache } from '../../src/aws/credentials.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { UI_CSP } from '../../src/server/fronts/ui.js';
import { startGateway, type RunningGateway } from '../../src/server/gateway.js';
import { CREDS, tempHome } from '../helpers.js';
import { until } from '../replicas/harness.js';
import { browserMissing, launch } from './browser.js';

const skip = browserMissing();
const ADMIN = 'dashboard-admin-key-0123456789abcdef';

describe('dashboard in Chromium', { skip, timeout: 180_000 }, () => {
  let emu: RunningEmulator;
  let gw: RunningGateway;
  let browser: Browser;
  let page: Page;
  const dialogs: string[] = [];
  const problems: string[] = [];

  const adminCall = async (method: string, path: string, body?: unknown) => {
    const res = await request(`${gw.url}${path}`, {
      method: method as 'GET',
      headers: { 'x-api-key': ADMIN, 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    });
    return (await res.body.json()) as Record<string, unknown>;
  };
  const model = async (key: string, text = 'hello dashboard') => {
    const res = await request(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 30, messages: [{ role: 'user', content: text }] }),
    });
    await res.body.text();
    return res.statusCode;
  };
  const signIn = async () => {
    await page.goto(`${gw.url}/ui`);
    await page.fill('input[name=adminKey]', ADMIN);
    await page.click('form[data-form=sign-in] button[type=submit]');
    await page.waitForSelector('[data-page=overview]');
  };

  before(async () => {
    emu = await startEmulator({ port: 0 });
    gw = await startGateway({
      port: 0,
      region: 'us-west-2',
      auth: { kind: 'sigv4', credentials: createCredentialCache(CREDS) },
      endpoint: emu.url,
      dataDir: join(tempHome(), 'data'),
      adminKey: ADMIN,
      retry: { max: 0 },
      logger: pino({ level: 'silent' }),
    });
    // Some traffic first: two teams' keys, two models.
    await adminCall('POST', '/admin/teams', { name: 'apps', budget: { usd: 5, period: 'month' } });
    const a = (
      await adminCall('POST', '/admin/keys', {
        name: 'alice-laptop',
        user: 'alice',
        team: 'apps',
        budget: { usd: 1, period: 'day' },
      })
    )['key'] as string;
    const b = (await adminCall('POST', '/admin/keys', { name: 'ci-bot', user: 'ci' }))['key'] as string;
    for (let i = 0; i < 6; i++) assert.equal(await model(i % 2 ? a : b, `request number ${i}`), 200);
    await gw.flushLedger(); // the six rows are in the ledger before the pages read it
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('dialog', (d) => {
      dialogs.push(`${d.type()}: ${d.message()}`);
      void (d.type() === 'confirm' ? d.accept() : d.dismiss());
    });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
  });
  after(async () => {
    await browser?.close();
    await gw?.close(100);
    await emu?.close();
  });

  it('serves the page with a strict CSP and no cookie, and signs in with the admin key only', async () => {
    const res = await request(`${gw.url}/ui`);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-security-policy'], UI_CSP);
    assert.match(UI_CSP, /script-src 'self';/);
    assert.equal(res.headers['set-cookie'], undefined);
    const html = await res.body.text();
    assert.ok(!/<script>|<script [^>]*>[^<]/.test(html) && !/ on\w+=/.test(html), 'no inline script or handler');
    await page.goto(`${gw.url}/ui`);
    await page.fill('input[name=adminKey]', 'not-the-admin-key');
    await page.click('form[data-form=sign-in] button[type=submit]');
    await page.waitForSelector('text=That is not the admin key.');
    await signIn();
    assert.deepEqual((await page.context().cookies()).length, 0, 'no cookie');
    problems.length = 0; // the wrong key's 401, said by the browser on purpose
  });

  it("shows the overview's totals equal to /admin/usage for the same range", async () => {
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const until = new Date(Date.now() + 60_000).toISOString();
    await page.goto(
      `${gw.url}/ui#/overview?range=custom&since=${encodeURIComponent(since)}&until=${encodeURIComponent(until)}&by=key`,
    );
    await page.waitForSelector('[data-page=overview] [data-total=requests]');
    const shown = await page.$$eval('[data-total]', (els) =>
      Object.fromEntries(els.map((e) => [e.getAttribute('data-total'), Number(e.getAttribute('data-value'))])),
    );
    const usage = (
      await adminCall(
        'GET',
        `/admin/usage?by=key&since=${encodeURIComponent(since)}&until=${encodeURIComponent(until)}`,
      )
    )['rows'] as Array<Record<string, number>>;
    const sum = (f: string) => usage.reduce((s, r) => s + r[f]!, 0);
    assert.equal(shown['requests'], sum('requests'));
    assert.ok(shown['requests']! >= 6);
    assert.equal(shown['errors'], sum('errors'));
    assert.equal(shown['inputTokens'], sum('inputTokens'));
    assert.equal(shown['outputTokens'], sum('outputTokens'));
    assert.ok(Math.abs(shown['costUsd']! - sum('costUsd')) < 1e-12);
    assert.equal(
      (await page.locator('[data-page=overview] .chart canvas').count()) >= 2,
      true,
      'the two charts are drawn',
    );
    // The legends say each group's total for the range before any hover, not a row of dashes.
    const legend = await page.$$eval('[data-page=overview] .u-legend .u-series:not(:first-child) .u-value', (els) =>
      els.map((e) => e.textContent ?? ''),
    );
    assert.ok(legend.length >= 2, 'a legend entry per group');
    assert.ok(
      legend.every((v) => /\d/.test(v)),
      `legend values before a hover: ${legend.join(' | ')}`,
    );
    const keysInTable = await page.$$eval('[data-table=usage] tbody tr td:first-child', (tds) =>
      tds.map((t) => t.textContent),
    );
    assert.deepEqual(
      keysInTable.sort(),
      usage.map((r) => (r as unknown as { group: string | null }).group ?? '(none)').sort(),
    );
  });

  it('creates a key in the page, which then works; its request appears; revoked in the page, it is refused', async () => {
    await page.goto(`${gw.url}/ui#/keys`);
    await page.waitForSelector('[data-page=keys]');
    await page.fill('form[data-form=create-key] input[name=name]', 'made-in-page');
    await page.fill('form[data-form=create-key] input[name=user]', 'pat');
    await page.selectOption('form[data-form=create-key] select[name=team]', 'apps');
    await page.fill('form[data-form=create-key] input[name=budgetUsd]', '2.5');
    await page.fill('form[data-form=create-key] input[name=rpm]', '100');
    await page.click('form[data-form=create-key] button[type=submit]');
    const secret = await (await page.waitForSelector('[data-secret]')).inputValue();
    assert.match(secret, /^bck-/);
    assert.match(
      (await page.textContent('pre.paste')) ?? '',
      new RegExp(`ANTHROPIC_BASE_URL=${gw.url.replace(/[.:/]/g, '\\$&')}\\nexport ANTHROPIC_API_KEY=${secret}`),
    );
    await page.waitForSelector('[data-key-name="made-in-page"]');
    assert.equal(await model(secret, 'from the new key'), 200);
    // The request in the page's ledger view.
    let seen = false;
    for (let i = 0; i < 20 && !seen; i++) {
      await page.goto(`${gw.url}/ui#/requests?key=made-in-page`);
      await page.reload();
      await page.waitForSelector('[data-page=requests]');
      seen = (await page.locator('[data-table=requests] tbody tr').count()) === 1;
      if (!seen) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(seen, 'the request is on the requests page');
    assert.match(
      (await page.textContent('[data-table=requests] tbody tr')) ?? '',
      /made-in-page.*claude-haiku-4-5.*200.*pat.*apps/,
    );
    await page.goto(`${gw.url}/ui#/keys`);
    await page.reload();
    // Change its budget, a limit and its models in the page.
    await page.click('tr:has([data-key-name="made-in-page"]) button:has-text("Change")');
    await page.fill('form[data-form=edit-key] input[name=budgetUsd]', '3');
    await page.fill('form[data-form=edit-key] input[name=rpm]', '');
    await page.fill('form[data-form=edit-key] input[name=concurrency]', '4');
    await page.fill('form[data-form=edit-key] input[name=models]', 'claude-haiku-*');
    await page.click('form[data-form=edit-key] button[type=submit]');
    await page.waitForSelector('text=Saved made-in-page.');
    const changed = await adminCall('GET', '/admin/keys/made-in-page');
    assert.deepEqual(
      [changed['budget'], changed['limits'], changed['models']],
      [{ usd: 3, period: 'month' }, { concurrency: 4 }, ['claude-haiku-*']],
    );
    await page.click('[data-revoke="made-in-page"]');
    await page.waitForSelector('text=Revoked made-in-page.');
    assert.ok(dialogs.some((d) => d.startsWith('confirm: Revoke the key "made-in-page"')));
    assert.equal(await model(secret), 401, 'refused once revoked');
  });

  it('shows what a key without a budget spent this month, as the ledger has it', async () => {
    await page.goto(`${gw.url}/ui#/keys`);
    await page.reload();
    const row = page.locator('[data-table=keys] tr:has([data-key-name="ci-bot"])');
    await row.waitFor();
    const monthStart = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1)).toISOString();
    const rows = (await adminCall('GET', `/admin/usage?by=key&since=${encodeURIComponent(monthStart)}`))[
      'rows'
    ] as Array<{ group: string; costUsd: number }>;
    const spent = rows.find((r) => r.group === 'ci-bot')!.costUsd;
    assert.ok(spent > 0);
    const text = (await row.textContent()) ?? '';
    assert.match(text, /\$[\d.]+ this month/, text);
    assert.doesNotMatch(text, /\$0 this month/, 'not nothing: it made three calls');
  });

  it("lists the budget alerts on the overview, once a key's spend crosses a threshold", async () => {
    const tiny = (
      await adminCall('POST', '/admin/keys', { name: 'tiny-budget', budget: { usd: 0.0001, period: 'day' } })
    )['key'] as string;
    for (let i = 0; i < 8; i++) await model(tiny, 'spend a little');
    await until(async () => ((await adminCall('GET', '/admin/alerts'))['data'] as unknown[]).length >= 1, 10_000);
    await page.goto(`${gw.url}/ui#/overview`);
    await page.reload();
    const card = page.locator('[data-card=alerts]');
    await card.waitFor();
    const text = (await card.textContent()) ?? '';
    assert.match(text, /tiny-budget/);
    assert.match(text, /50%/);
  });

  it("shows a script in a key's name as text, and runs nothing", async () => {
    const evil = '<img src=x onerror=alert(1)>';
    await adminCall('POST', '/admin/keys', { name: evil, user: '<b>bold</b>' });
    dialogs.length = 0;
    await page.goto(`${gw.url}/ui#/keys`);
    await page.reload();
    await page.waitForSelector('[data-page=keys]');
    const names = await page.$$eval('[data-key-name]', (els) => els.map((e) => e.textContent));
    assert.ok(names.includes(evil), 'the name as those characters');
    assert.equal(await page.locator('[data-table=keys] img').count(), 0, 'no image element made of it');
    assert.equal(await page.locator('[data-table=keys] b').count(), 0);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(dialogs, [], 'no alert ran');
  });

  it('the live page shows in-flight requests, the upstream target and its circuit', async () => {
    await page.goto(`${gw.url}/ui#/live`);
    await page.waitForSelector('[data-table=targets]');
    const row = (await page.textContent('[data-table=targets] tbody tr')) ?? '';
    assert.match(row, /us-west-2.*global\.anthropic\.claude-haiku-4-5.*closed/);
  });

  it('a double click creates a key once; leaving the live page before its first poll answers stops its polling', async () => {
    const posts: string[] = [];
    const onRequest = (r: { method(): string; url(): string }) => {
      if (r.method() === 'POST' && r.url().endsWith('/admin/keys')) posts.push(r.url());
    };
    page.on('request', onRequest);
    await page.goto(`${gw.url}/ui#/keys`);
    await page.reload();
    await page.waitForSelector('[data-page=keys]');
    await page.fill('form[data-form=create-key] input[name=name]', 'clicked-twice');
    await page.dblclick('form[data-form=create-key] button[type=submit]');
    await page.waitForSelector('text=Created clicked-twice.');
    page.off('request', onRequest);
    assert.equal(posts.length, 1, 'one POST for two clicks');
    assert.equal(await page.locator('text=exists already').count(), 0, 'no 409 shown');

    // The live page's first poll is held; the page is left; then the poll answers. Then 20 s of
    // the page's own clock pass: a poller left behind would ask ten more times.
    await page.clock.install();
    const polls: string[] = [];
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    let first = true;
    await page.route('**/admin/live', async (route) => {
      polls.push(route.request().url());
      if (first) {
        first = false;
        await held;
      }
      await route.continue();
    });
    await page.reload(); // a new document, on the page's own clock
    await page.waitForSelector('[data-page=keys]');
    const firstPoll = page.waitForRequest('**/admin/live');
    await page.evaluate("location.hash = '#/live'");
    await firstPoll;
    await page.evaluate("location.hash = '#/keys'");
    await page.waitForSelector('[data-page=keys]');
    release();
    // Ten polls' worth of the page's clock, each followed by a request of our own: its answer comes
    // after any request the page made before it, so a poll left running would be counted by then.
    for (let i = 0; i < 10; i++) {
      await page.clock.runFor(2_000);
      await page.evaluate(() => fetch('/healthz').then((r) => r.text()));
    }
    await page.unroute('**/admin/live');
    assert.equal(polls.length, 1, `the live page polled ${polls.length} times after it was left`);
    assert.equal(await page.locator('[data-page=live]').count(), 0, 'nothing of the live page landed on the keys page');
  });

  it('has no sideways scroll at 1280x800 or at 390x844 on any page', async () => {
    for (const viewport of [
      { width: 1280, height: 800 },
      { width: 390, height: 844 },
    ]) {
      await page.setViewportSize(viewport);
      for (const p of ['overview', 'keys', 'requests', 'live']) {
        await page.goto(`${gw.url}/ui#/${p}`);
        await page.reload();
        await page.waitForSelector(`[data-page=${p}]`);
        await page.waitForTimeout(150);
        const { scroll, client } = await page.evaluate<{ scroll: number; client: number }>(
          '({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })',
        );
        assert.ok(scroll <= client, `${p} at ${viewport.width}x${viewport.height}: ${scroll} > ${client}`);
        // A table wider than its box scrolls inside it and says so.
        const boxes = await page.$$eval('.table-box', (els) =>
          els.map((e) => ({
            wide: e.scrollWidth > e.clientWidth + 1,
            hint: e.ownerDocument.defaultView!.getComputedStyle(e, '::before').content,
            table: e.getAttribute('data-table') ?? '',
          })),
        );
        for (const b of boxes.filter((x) => x.wide))
          assert.match(b.hint, /Scroll sideways/, `${p} ${b.table} at ${viewport.width}: a table that scrolls says so`);
        if (p === 'requests' && viewport.width === 1280) {
          // What a person looks for is on the screen without scrolling: the cost, the error, the request id.
          const hidden = await page.$$eval('[data-page=requests] .table-box', (els) => {
            const box = els[0]!.getBoundingClientRect();
            return [...els[0]!.querySelectorAll('th')]
              .filter((th) => ['cost', 'error', 'request id'].includes(th.textContent ?? ''))
              .filter((th) => th.getBoundingClientRect().right > box.right + 1)
              .map((th) => th.textContent);
          });
          assert.deepEqual(hidden, [], 'cost, error and request id in view at 1280');
        }
      }
    }
    assert.deepEqual(problems, [], 'no error in the console (a CSP violation would be one)');
  });
});
