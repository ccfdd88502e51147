// npm run screenshots: PNGs of each dashboard page in docs/, from a seeded demo ledger (a week of
// made-up traffic for a few teams, keys and models) and a gateway on the emulator, in Debian's
// Chromium. Run after `npm run build`.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { openSqliteControlStore } from '../dist/control/sqlite-store.js';

const ADMIN = 'screenshots-admin-key-0123456789abcdef';
const home = mkdtempSync(join(tmpdir(), 'bedrock-claude-screenshots-'));
const dataDir = join(home, 'data');
const now = Date.now();
const HOUR = 3_600_000;

// A deterministic week: more traffic in working hours, three models, cache reads on Claude Code keys.
let seed = 42;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const store = openSqliteControlStore(dataDir);
await store.createTeam(
  { name: 'platform', budget: { usd: 400, period: 'month' }, limits: { rpm: 2000 } },
  now - 30 * 24 * HOUR,
);
await store.createTeam({ name: 'data-science', budget: { usd: 250, period: 'month' } }, now - 30 * 24 * HOUR);
await store.createTeam({ name: 'support-bots', budget: { usd: 60, period: 'week' } }, now - 30 * 24 * HOUR);
const keys = [];
for (const [name, user, team, budget] of [
  ['alice-laptop', 'alice', 'platform', 40],
  ['bob-laptop', 'bob', 'platform', 40],
  ['ci-review-bot', 'ci', 'platform', 120],
  ['notebook-dana', 'dana', 'data-science', 80],
  ['support-triage', 'svc-support', 'support-bots', 30],
]) {
  const { record } = await store.createKey(
    { name, user, team, budget: { usd: budget, period: 'month' }, limits: { rpm: 120, concurrency: 8 } },
    now - 20 * 24 * HOUR,
  );
  keys.push(record);
}
const models = [
  ['claude-sonnet-4-6', 'global.anthropic.claude-sonnet-4-6', 3, 15],
  ['claude-haiku-4-5', 'global.anthropic.claude-haiku-4-5-20251001-v1:0', 1, 5],
  ['claude-opus-4-6', 'global.anthropic.claude-opus-4-6-v1', 5, 25],
];
const rows = [];
for (let h = 7 * 24; h > 0; h--) {
  const at = now - h * HOUR;
  const hour = new Date(at).getUTCHours();
  const n = Math.round((hour >= 8 && hour <= 18 ? 40 : 8) * (0.6 + rand() * 0.8));
  for (let i = 0; i < n; i++) {
    const k = keys[Math.floor(rand() * keys.length)];
    const [model, bedrockModel, inPrice, outPrice] = models[rand() < 0.55 ? 0 : rand() < 0.75 ? 1 : 2];
    const input = Math.round(200 + rand() * 4000);
    const output = Math.round(50 + rand() * 900);
    const cacheRead = k.name.endsWith('laptop') ? Math.round(rand() * 30000) : 0;
    const failed = rand() < 0.03;
    const cost = failed ? 0 : (input * inPrice + output * outPrice + cacheRead * inPrice * 0.1) / 1e6;
    rows.push({
      requestId: `req_demo_${h}_${i}`,
      time: at + Math.floor(rand() * HOUR),
      front: 'anthropic',
      route: '/v1/messages',
      keyId: k.id,
      keyName: k.name,
      user: k.user,
      team: k.team,
      session: null,
      metadataUser: null,
      userAgent: 'claude-cli/2.1.197 (external, cli)',
      model,
      bedrockModel,
      region: 'us-west-2',
      scope: 'global',
      status: failed ? 429 : 200,
      error: failed ? 'rate_limit_error' : null,
      reason: failed ? 'rate_limit:rpm' : null,
      streamed: true,
      inputTokens: failed ? 0 : input,
      outputTokens: failed ? 0 : output,
      cacheReadTokens: failed ? 0 : cacheRead,
      cacheWrite5mTokens: 0,
      cacheWrite1hTokens: 0,
      costUsd: cost,
      latencyMs: 800 + rand() * 9000,
      ttfbMs: 300 + rand() * 1200,
      dropped: rand() < 0.05 ? 'interleaved-thinking-2025-05-14' : null,
    });
  }
}
await store.appendLedger(rows);
await store.close();

const child = spawn(
  process.execPath,
  ['dist/cli/main.js', 'serve', '--emulator', '--port', '0', '--data-dir', dataDir],
  {
    env: { PATH: process.env.PATH, HOME: home, AWS_EC2_METADATA_DISABLED: 'true', BEDROCK_CLAUDE_ADMIN_KEY: ADMIN },
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const url = await new Promise((resolve, reject) => {
  let out = '';
  child.stdout.on('data', (c) => {
    out += c;
    const m = /listening on (http:\/\/[0-9.:]+)/.exec(out);
    if (m) resolve(m[1]);
  });
  child.once('exit', (code) => reject(new Error(`the gateway exited (${code})`)));
});
const browser = await chromium.launch({
  executablePath: process.env.BEDROCK_CLAUDE_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
});
try {
  // A little live traffic, so the live page has an upstream and a minute of requests.
  const created = await (
    await fetch(`${url}/admin/keys`, {
      method: 'POST',
      headers: { 'x-api-key': ADMIN, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'demo-live', user: 'demo' }),
    })
  ).json();
  for (let i = 0; i < 25; i++)
    await fetch(`${url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': created.key, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'claude-haiku-4-5',
        max_tokens: 20,
        messages: [{ role: 'user', content: `hello ${i}` }],
      }),
    }).then((r) => r.text());
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('dialog', (d) => void d.dismiss());
  await page.goto(`${url}/ui`);
  await page.fill('input[name=adminKey]', ADMIN);
  await page.click('form[data-form=sign-in] button[type=submit]');
  await page.waitForSelector('[data-page=overview]');
  mkdirSync('docs', { recursive: true });
  const shots = [
    ['overview', '#/overview?range=7d&by=team'],
    ['keys', '#/keys'],
    ['requests', '#/requests'],
    ['live', '#/live'],
  ];
  for (const [name, hash] of shots) {
    await page.goto(`${url}/ui${hash}`);
    await page.reload();
    await page.waitForSelector(`[data-page=${name}]`);
    await page.waitForTimeout(500);
    await page.screenshot({ path: `docs/dashboard-${name}.png`, fullPage: name !== 'requests' });
    console.log(`docs/dashboard-${name}.png`);
  }
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${url}/ui#/overview?range=7d&by=model`);
  await page.reload();
  await page.waitForSelector('[data-page=overview]');
  await page.waitForTimeout(500);
  await page.screenshot({ path: 'docs/dashboard-overview-phone.png' });
  console.log('docs/dashboard-overview-phone.png');
} finally {
  await browser.close();
  child.kill('SIGTERM');
}
