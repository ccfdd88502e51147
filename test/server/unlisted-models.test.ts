// Issue 26 (first part): a Claude name from after the catalog is not refused. Through the gateway it
// goes to the Messages-API endpoint (bedrock-mantle) by its bare ID, with a note in the answer's
// headers; it has no price, so a key with a budget is refused it, with the way to price it.
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

describe('a Claude name from after the catalog, through the gateway', () => {
  let emu: RunningEmulator;
  let gw: RunningGateway;
  let budgeted = '';
  let free = '';
  before(async () => {
    // Bedrock of the future knows the model; this release's catalog does not.
    emu = await startEmulator({
      port: 0,
      models: {
        models: [
          {
            name: 'claude-opus-6',
            displayName: 'Claude Opus 6',
            bedrockId: 'anthropic.claude-opus-6',
            profiles: ['global', 'us'],
            onDemandInRegion: true,
            contextWindow: 1_000_000,
            context1m: true,
            maxOutputTokens: 128_000,
            pricing: { input: 5, output: 25, cacheWrite: 6.25, cacheRead: 0.5 },
            temperatureWithTopP: false,
            thinking: true,
            lifecycle: { status: 'active' },
            backend: 'mantle',
          },
        ],
      },
    });
    const dataDir = mkdtempSync(join(tmpdir(), 'bc-unlisted-'));
    const store = openSqliteControlStore(dataDir);
    budgeted = (await store.createKey({ name: 'budgeted', budget: { usd: 5, period: 'day' } }, Date.now())).key;
    free = (await store.createKey({ name: 'free' }, Date.now())).key;
    await store.close();
    gw = await gatewayOn(emu.url, { dataDir });
  });
  after(async () => {
    await gw.close();
    await emu.close();
  });

  const call = (key: string, model = 'claude-opus-6') =>
    request(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key },
      body: JSON.stringify({ model, max_tokens: 20, messages: [{ role: 'user', content: 'hello' }] }),
    });

  it('is served by its bare ID on the Messages-API endpoint, and the answer says so', async () => {
    const res = await call(free);
    const text = await res.body.text();
    assert.equal(res.statusCode, 200, text);
    assert.match(String(res.headers['x-bedrock-claude-note']), /claude-opus-6 is not in the catalog/);
    assert.equal(res.headers['x-bedrock-claude-endpoint'], 'mantle');
    const sent = emu.received.at(-1)!;
    assert.deepEqual([sent.modelId, sent.endpoint], ['anthropic.claude-opus-6', 'mantle']);
  });

  it('spelt as a profile ID, it goes the same way by its bare ID (bedrock-mantle takes no profile ID)', async () => {
    const res = await call(free, 'global.anthropic.claude-opus-6');
    assert.equal(res.statusCode, 200, await res.body.text());
    assert.match(String(res.headers['x-bedrock-claude-note']), /sent as anthropic\.claude-opus-6 to bedrock-mantle/);
    assert.deepEqual(
      [emu.received.at(-1)!.modelId, emu.received.at(-1)!.endpoint],
      ['anthropic.claude-opus-6', 'mantle'],
    );
    // A known model's profile ID in a wrong spelling is still a typo, with the did-you-mean.
    const typo = await call(free, 'global.anthropic.claude-opus-4-6');
    assert.equal(typo.statusCode, 404);
    assert.match(await typo.body.text(), /Did you mean|did you mean/);
  });

  it('is refused for a key with a budget until it is priced, saying how', async () => {
    const res = await call(budgeted);
    const text = await res.body.text();
    assert.equal(res.statusCode, 400, text);
    assert.match(text, /has no price/);
    assert.equal(res.headers['x-should-retry'], 'false', 'the same request would be refused again');
  });

  it("/v1/models shows each listed model with its facts' marks", async () => {
    const res = await request(`${gw.url}/v1/models`, { headers: { 'x-api-key': free } });
    const list = (await res.body.json()) as { data: Array<{ id: string; facts?: Record<string, string> }> };
    const opus = list.data.find((m) => m.id === 'claude-opus-5-5');
    assert.equal(opus?.facts?.['pricing'], 'C');
    assert.equal(opus?.facts?.['profiles'], 'S');
  });
});
