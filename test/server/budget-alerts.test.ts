// Budget alerts (issue 29): each threshold of a key's, team's or person's budget alerts once per period, to a webhook
// (Slack-compatible or JSON, signed), recorded in the store for every replica; a soft budget alerts and never
// refuses. A local webhook sink receives them; the gateway's own path and the alerts on their own.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { openSqliteControlStore } from '../../src/control/sqlite-store.js';
import { createBudgetAlerts } from '../../src/server/budget-alerts.js';
import type { RunningGateway } from '../../src/server/gateway.js';
import { adminPost, callWithKey, gatewayOn, tempHome } from '../helpers.js';

interface Received {
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A webhook on 127.0.0.1 that keeps what it is sent and says when the nth arrived. */
async function sink(): Promise<{ url: string; got: Received[]; count(n: number): Promise<void>; close(): void }> {
  const got: Received[] = [];
  const waiting: Array<{ n: number; done: () => void }> = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.end('ok');
      for (const w of waiting.filter((x) => got.length >= x.n)) w.done();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return {
    url,
    got,
    count: (n) => (got.length >= n ? Promise.resolve() : new Promise((done) => waiting.push({ n, done }))),
    close: () => server.close(),
  };
}

const ADMIN = 'budget-alerts-admin-key-0123456789abcdef';
let emu: RunningEmulator;
before(async () => {
  emu = await startEmulator({ port: 0 });
});
after(() => emu.close());

describe('budget alerts', () => {
  it('on the gateway: 50, 80 and 100% of a hard budget, once each, the last when a request is refused', async () => {
    const hook = await sink();
    const gw: RunningGateway = await gatewayOn(emu.url, {
      dataDir: tempHome(),
      adminKey: ADMIN,
      alerts: { webhooks: [{ url: hook.url, format: 'slack' }] },
    });
    try {
      const admin = (path: string, body: unknown) => adminPost(gw.url, ADMIN, path, body);
      const hard = await admin('/admin/keys', { name: 'hard', budget: { usd: 0.0001, period: 'day' } });
      const soft = await admin('/admin/keys', { name: 'soft', budget: { usd: 0.0001, period: 'day', soft: true } });
      const call = (key: string) => callWithKey(gw.url, key);
      let refusedAt = 0;
      for (let i = 1; i <= 30 && !refusedAt; i++) if ((await call(hard.key)) === 403) refusedAt = i;
      assert.ok(refusedAt > 1, 'the hard budget refused at last');
      await hook.count(3);
      const pct = (t: string) => Number(/reached (\d+)%/.exec(t)![1]);
      // Each is posted as its request settles: in the order they were crossed, but not waited for in turn.
      const texts = hook.got.map((g) => (JSON.parse(g.body) as { text: string }).text).sort((a, b) => pct(a) - pct(b));
      assert.deepEqual(texts.map(pct), [50, 80, 100]);
      assert.match(
        texts[2]!,
        /the key "hard" reached 100% of its budget: \$0\.\d{4} of \$0\.0001 .* Requests are refused\./,
      );
      assert.equal(await call(hard.key), 403);
      for (let i = 0; i < 15; i++) assert.equal(await call(soft.key), 200, 'a soft budget never refuses');
      await hook.count(6);
      const softTexts = hook.got
        .slice(3)
        .map((g) => (JSON.parse(g.body) as { text: string }).text)
        .sort((a, b) => pct(a) - pct(b));
      assert.ok(softTexts.every((t) => /the key "soft"/.test(t)));
      assert.match(softTexts[2]!, /reached 100%.* It is a soft budget: requests go on\./);
      const listed = await request(`${gw.url}/admin/alerts`, { headers: { 'x-api-key': ADMIN } });
      const data = ((await listed.body.json()) as { data: Array<{ name: string; threshold: number }> }).data;
      assert.deepEqual(
        data.map((a) => `${a.name}:${a.threshold}`).sort(),
        ['hard:100', 'hard:50', 'hard:80', 'soft:100', 'soft:50', 'soft:80'],
        'each once, for the dashboard',
      );
    } finally {
      await gw.close(100);
      hook.close();
    }
  });

  it('on their own: recorded once per period and threshold however often crossed, JSON signed with the secret', async () => {
    const hook = await sink();
    const store = openSqliteControlStore(tempHome());
    let now = Date.parse('2026-12-07T10:00:00Z');
    const failures: unknown[] = [];
    const secret = 'a-webhook-secret-0123456789';
    const make = () =>
      createBudgetAlerts({
        config: { thresholds: [80, 100], webhooks: [{ url: hook.url, format: 'json', secret }] },
        store,
        clock: () => now,
        onFailure: (e) => failures.push(e),
      });
    try {
      const [one, two] = [make(), make()]; // two replicas on one store
      const team = { kind: 'team' as const, id: 'ml', name: 'ml', budget: { usd: 10, period: 'month' as const } };
      const period = { start: Date.parse('2026-12-01T00:00:00Z'), end: Date.parse('2027-01-01T00:00:00Z') };
      one.check(team, period, 7.9);
      two.check(team, period, 8.1);
      one.check(team, period, 8.5);
      two.check(team, period, 9);
      await Promise.all([one.idle(), two.idle()]);
      assert.equal(hook.got.length, 1, 'the 80% alert once, from whichever replica recorded it');
      const body = hook.got[0]!.body;
      const alert = JSON.parse(body) as Record<string, unknown>;
      assert.deepEqual(
        [alert['type'], alert['kind'], alert['name'], alert['threshold']],
        ['budget.threshold', 'team', 'ml', 80],
      );
      const ts = String(hook.got[0]!.headers['x-bedrock-claude-timestamp']);
      const expected = createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex');
      assert.equal(hook.got[0]!.headers['x-bedrock-claude-signature'], `sha256=${expected}`);
      now = Date.parse('2027-01-02T00:00:00Z');
      const next = { start: Date.parse('2027-01-01T00:00:00Z'), end: Date.parse('2027-02-01T00:00:00Z') };
      one.check(team, next, 10);
      await one.idle();
      assert.deepEqual(
        hook.got.slice(1).map((g) => (JSON.parse(g.body) as { threshold: number }).threshold),
        [80, 100],
        'a new period alerts again',
      );
      assert.deepEqual(failures, []);
    } finally {
      await store.close();
      hook.close();
    }
  });
});
