// Issue 26, item 7: service tiers. `service_tier` in the body and Bedrock's `X-Amzn-Bedrock-Service-Tier`
// header (Claude Code sends it) reach Bedrock in that header (InvokeModel's body is closed), and the
// ledger records the tier.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { openSqliteControlStore } from '../../src/control/sqlite-store.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import type { RunningGateway } from '../../src/server/gateway.js';
import { gatewayOn } from '../helpers.js';

describe('service tiers', () => {
  let emu: RunningEmulator;
  let gw: RunningGateway;
  let dataDir: string;
  before(async () => {
    emu = await startEmulator({ port: 0 });
    dataDir = mkdtempSync(join(tmpdir(), 'bc-tier-'));
    // A synced price list with a priority price for Haiku 4.5 where the gateway calls it (global routing).
    const haikuPrices = {
      global: { input: 1, output: 5 },
      tiers: { priority: { global: { input: 1.75, output: 8.75 } } },
    };
    gw = await gatewayOn(emu.url, {
      dataDir,
      models: { models: [{ name: 'claude-haiku-4-5', regionPrices: { 'us-west-2': haikuPrices } }] },
    });
  });
  after(async () => {
    await gw.close();
    await emu.close();
  });

  const call = async (extra: Record<string, unknown>, headers: Record<string, string> = {}) => {
    const res = await request(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: Object.assign({ 'content-type': 'application/json' }, headers),
      body: JSON.stringify(
        Object.assign({ model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }, extra),
      ),
    });
    const text = await res.body.text();
    assert.equal(res.statusCode, 200, text);
    return { id: String(res.headers['request-id']), sent: emu.received.at(-1)! };
  };

  it('the body field and the header reach Bedrock, and the ledger records the tier', async () => {
    const flex = await call({ service_tier: 'flex' });
    // InvokeModel's body schema is closed: the body's tier goes in Bedrock's header.
    assert.equal((flex.sent.body as Record<string, unknown>)['service_tier'], undefined);
    assert.equal(flex.sent.headers['x-amzn-bedrock-service-tier'], 'flex');
    const priority = await call({}, { 'X-Amzn-Bedrock-Service-Tier': 'priority' });
    assert.equal(priority.sent.headers['x-amzn-bedrock-service-tier'], 'priority');
    const none = await call({});
    assert.equal(none.sent.headers['x-amzn-bedrock-service-tier'], undefined);
    await gw.flushLedger();
    const store = openSqliteControlStore(dataDir);
    const rows = await store.requests({ since: 0, until: Date.now() + 1000, limit: 10 });
    await store.close();
    const tierOf = (id: string) => rows.find((r) => r.requestId === id)?.serviceTier;
    assert.deepEqual([tierOf(flex.id), tierOf(priority.id), tierOf(none.id)], ['flex', 'priority', null]);
    // Priced by the tier where the list has its price (priority: 1.75x here), else at the standard price (flex).
    const row = (id: string) => rows.find((r) => r.requestId === id)!;
    const perToken = (id: string) => row(id).costUsd! / (row(id).inputTokens! + 5 * row(id).outputTokens!);
    assert.ok(Math.abs(perToken(priority.id) / perToken(none.id) - 1.75) < 1e-6, 'priority at its price');
    assert.ok(Math.abs(perToken(flex.id) / perToken(none.id) - 1) < 1e-6, 'flex at the standard price');
  });
});
