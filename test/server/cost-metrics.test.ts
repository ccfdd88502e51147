// Spend and tokens in /metrics by the catalog's model name and the team (issue 29): a client's spelling of a model is
// not a label value, and the label values are bounded.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { createGatewayMetrics, MAX_LABEL_VALUES } from '../../src/server/metrics.js';
import { newUsageRecord } from '../../src/control/usage-record.js';
import type { RunningGateway } from '../../src/server/gateway.js';
import { adminPost, gatewayOn, tempHome } from '../helpers.js';

const ADMIN = 'cost-metrics-admin-key-0123456789abcdef';
let emu: RunningEmulator;
let gw: RunningGateway;
before(async () => {
  emu = await startEmulator({ port: 0 });
  gw = await gatewayOn(emu.url, { dataDir: tempHome(), adminKey: ADMIN });
});
after(async () => {
  await gw.close(100);
  await emu.close();
});

const sample = (text: string, name: string, labels: string) =>
  Number(new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

describe('cost metrics', () => {
  it("counts spend and tokens by the catalog's model name and the team", async () => {
    const admin = (path: string, body: unknown) => adminPost(gw.url, ADMIN, path, body);
    await admin('/admin/teams', { name: 'ml' });
    const { key } = await admin('/admin/keys', { name: 'ml-bot', team: 'ml' });
    for (const model of ['haiku', 'claude-haiku-4-5', 'global.anthropic.claude-haiku-4-5-20251001-v1:0']) {
      const res = await request(`${gw.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'content-type': 'application/json' },
        body: JSON.stringify({ model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
      });
      await res.body.text();
    }
    await gw.flushLedger();
    const usage = await request(`${gw.url}/admin/usage?by=team`, { headers: { 'x-api-key': ADMIN } });
    const rows = ((await usage.body.json()) as { rows: Array<{ group: string; costUsd: number }> }).rows;
    const ledger = rows.find((r) => r.group === 'ml')!.costUsd;
    const text = await (await request(`${gw.url}/metrics`)).body.text();
    const spent = sample(text, 'bedrock_claude_cost_usd_total', 'model="claude-haiku-4-5",team="ml"');
    assert.ok(spent > 0, text);
    assert.ok(Math.abs(spent - ledger) < 1e-9, `the metric ${spent}, the ledger ${ledger}`);
    assert.ok(sample(text, 'bedrock_claude_tokens_total', 'direction="input",model="claude-haiku-4-5",team="ml"') > 0);
    assert.doesNotMatch(text, /model="haiku"|model="global\./, "no client's spelling as a label");
  });

  it('keeps the label values bounded: past the limit, other', () => {
    const metrics = createGatewayMetrics();
    for (let i = 0; i < MAX_LABEL_VALUES + 50; i++) {
      const u = newUsageRecord('POST', 'anthropic', '/v1/messages', '/v1/messages', 0);
      Object.assign(u, { modelName: `claude-model-${i}`, team: `team-${i}`, costUsd: 1, inputTokens: 1 });
      metrics.record(u);
    }
    return metrics.registry.getSingleMetricAsString('bedrock_claude_cost_usd_total').then((text) => {
      const series = text.split('\n').filter((l) => l.startsWith('bedrock_claude_cost_usd_total{'));
      assert.ok(series.length <= MAX_LABEL_VALUES + 1, `${series.length} series`);
      assert.equal(sample(text, 'bedrock_claude_cost_usd_total', 'model="other",team="other"'), 50);
    });
  });
});
