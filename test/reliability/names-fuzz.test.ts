// Issue 25: model names and header values a client chooses, fuzzed (fast-check, fixed seed) through
// the gateway in process on every front: never a 5xx, and the resolver's memory stays bounded.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import type { RunningGateway } from '../../src/server/gateway.js';
import { gatewayOn } from '../helpers.js';

let emu: RunningEmulator;
let gw: RunningGateway;

before(async () => {
  emu = await startEmulator({ port: 0 });
  gw = await gatewayOn(emu.url, {
    routes: { fast: [{ region: 'us-west-2', modelId: 'global.anthropic.claude-haiku-4-5-20251001-v1:0' }] },
    retry: { max: 0 },
  });
});
after(async () => {
  await gw.close(100);
  await emu.close();
});

/** Names a client may send: any text, long ones, inherited property names, look-alikes of real IDs and ARNs. */
const names = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.constantFrom('constructor', '__proto__', 'toString', 'hasOwnProperty', 'fast', 'opus', 'claude-'),
  fc.string({ minLength: 2049, maxLength: 6000 }),
  fc
    .tuple(fc.constantFrom('global.', 'us.', 'eu.', 'arn:aws:bedrock:us-west-2:1:inference-profile/', ''), fc.string())
    .map(([a, b]) => `${a}anthropic.${b}`),
);
const headerText = fc.string({ unit: 'binary', maxLength: 200 });

describe('fuzzed model names and header values', () => {
  it('never answer 5xx on any front, whatever the name and the betas', async () => {
    const before = process.memoryUsage().heapUsed;
    await fc.assert(
      fc.asyncProperty(names, headerText, fc.nat(3), async (model, beta, front) => {
        const body = { model, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] };
        const [path, payload] = [
          ['/v1/messages', body],
          ['/v1/chat/completions', { model, messages: [{ role: 'user', content: 'x' }] }],
          [
            `/model/${encodeURIComponent(model)}/invoke`,
            { anthropic_version: 'bedrock-2023-05-31', ...body, model: undefined },
          ],
          [`/model/${encodeURIComponent(model)}/converse`, { messages: [{ role: 'user', content: [{ text: 'x' }] }] }],
        ][front] as [string, unknown];
        const res = await gw.app.request(path, {
          headers: { 'anthropic-beta': beta, 'x-request-tag': beta },
          body: JSON.stringify(payload),
        });
        assert.ok(
          res.status < 500,
          `${path} ${JSON.stringify(model).slice(0, 80)}: ${res.status} ${res.text.slice(0, 200)}`,
        );
        for (const [k, v] of Object.entries(res.headers))
          assert.ok(!/[\r\n]/.test(String(v)), `header ${k} carries a line break`);
      }),
      { seed: 2512, numRuns: 400 },
    );
    const grown = (process.memoryUsage().heapUsed - before) / 1e6;
    assert.ok(grown < 100, `heap grew ${grown.toFixed(1)} MB over 400 fuzzed requests`);
  });
});
