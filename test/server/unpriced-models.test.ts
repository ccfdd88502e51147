// A model a models file adds without prices would be counted at $0: a call to it under a budget is refused with the
// fix, and is served once the entry has its prices (and freely for a key without a budget).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import type { CatalogOverrides } from '../../src/catalog/catalog.js';
import { adminPost, callWithKey, gatewayOn, tempHome } from '../helpers.js';

const ADMIN = 'unpriced-models-admin-key-0123456789abcdef';
const MODELS: CatalogOverrides = {
  models: [
    { name: 'claude-inhouse-2', bedrockId: 'anthropic.claude-inhouse-2-v1:0' },
    {
      name: 'claude-inhouse-3',
      bedrockId: 'anthropic.claude-inhouse-3-v1:0',
      pricing: { input: 1, output: 5, cacheWrite: 1.25, cacheRead: 0.1 },
    },
  ],
};
let emu: RunningEmulator;
before(async () => {
  emu = await startEmulator({ port: 0, models: MODELS });
});
after(() => emu.close());

describe('a models file entry without prices', () => {
  it('is refused under a budget, with the fix; served without one, and with prices', async () => {
    const gw = await gatewayOn(emu.url, { dataDir: tempHome(), adminKey: ADMIN, models: MODELS });
    try {
      const budgeted = await adminPost(gw.url, ADMIN, '/admin/keys', { name: 'b', budget: { usd: 5, period: 'day' } });
      const free = await adminPost(gw.url, ADMIN, '/admin/keys', { name: 'f' });
      const res = await request(`${gw.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': budgeted.key, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'claude-inhouse-2',
          max_tokens: 10,
          messages: [{ role: 'user', content: 'hi' }],
        }),
      });
      const text = await res.body.text();
      assert.equal(res.statusCode, 400, text);
      assert.match(text, /has no price bedrock-claude knows, and key \\"b\\" has a budget/);
      assert.match(text, /A model your models file adds needs its pricing/);
      assert.equal(await callWithKey(gw.url, free.key, 'claude-inhouse-2'), 200, 'no budget to count against');
      assert.equal(await callWithKey(gw.url, budgeted.key, 'claude-inhouse-3'), 200, 'priced: counted');
    } finally {
      await gw.close(100);
    }
  });
});
