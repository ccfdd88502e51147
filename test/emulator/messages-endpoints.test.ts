/**
 * The emulator's Messages-API endpoints: bedrock-runtime's `/anthropic` path (judged as InvokeModel is: profile IDs,
 * bare IDs only where offered on demand), bedrock-mantle (bare IDs only, its own token quotas) and Claude Platform on
 * AWS (Anthropic names, a workspace). Which one a request reached is the service it signed for, or for a Bedrock API
 * key, the host it named or the emulator's `messagesEndpoint`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';

let clock = 0;
let emu: RunningEmulator;
let runtime: RunningEmulator;

const call = (base: string, model: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  fetch(`${base}/anthropic/v1/messages`, {
    method: 'POST',
    headers: Object.assign({ authorization: 'Bearer k', 'content-type': 'application/json' }, headers),
    body: JSON.stringify(Object.assign({ model, max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }, extra)),
  });

before(async () => {
  emu = await startEmulator({
    port: 0,
    apiKeys: ['k'],
    clock: () => clock,
    mantleQuotas: { inputTpm: 1_000, outputTpm: 250 },
  });
  runtime = await startEmulator({ port: 0, apiKeys: ['k'], messagesEndpoint: 'runtime' });
});
after(async () => {
  await emu.close();
  await runtime.close();
});

describe('bedrock-mantle', () => {
  it('takes bare IDs and refuses profile IDs with a 404', async () => {
    clock = 0;
    assert.equal((await call(emu.url, 'anthropic.claude-opus-5')).status, 200);
    const r = await call(emu.url, 'global.anthropic.claude-opus-5');
    assert.equal(r.status, 404);
    assert.match(((await r.json()) as { message: string }).message, /does not exist/);
  });

  it('throttles on its output-token quota per minute, in Bedrock words, and lets the next minute in', async () => {
    clock = 60_000;
    assert.equal((await call(emu.url, 'anthropic.claude-opus-5', { max_tokens: 200 })).status, 200);
    const r = await call(emu.url, 'anthropic.claude-opus-5', { max_tokens: 100 });
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('x-amzn-errortype')?.split(':')[0], 'ThrottlingException');
    assert.equal(
      ((await r.json()) as { message: string }).message,
      'Too many tokens, please wait before trying again.',
    );
    clock = 120_000;
    assert.equal((await call(emu.url, 'anthropic.claude-opus-5', { max_tokens: 100 })).status, 200);
  });

  it('counts input plus max_tokens against the input quota up front', async () => {
    clock = 180_000;
    const long = 'word '.repeat(4_000);
    const r = await call(emu.url, 'anthropic.claude-opus-5', { messages: [{ role: 'user', content: long }] });
    assert.equal(r.status, 429);
  });
});

describe("bedrock-runtime's /anthropic path", () => {
  it('takes profile IDs and refuses a profile-only model by bare ID, as InvokeModel does', async () => {
    assert.equal((await call(runtime.url, 'us.anthropic.claude-opus-5')).status, 200);
    const r = await call(runtime.url, 'anthropic.claude-opus-5');
    assert.equal(r.status, 400);
    assert.match(((await r.json()) as { message: string }).message, /on-demand throughput isn.t supported/);
    // A host says which endpoint a Bedrock API key meant.
    const byHost = await request(`${runtime.url}/anthropic/v1/messages`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer k',
        'content-type': 'application/json',
        host: 'bedrock-mantle.us-west-2.api.aws',
      },
      body: JSON.stringify({
        model: 'global.anthropic.claude-opus-5',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'x' }],
      }),
    });
    await byHost.body.text();
    assert.equal(byHost.statusCode, 404);
    assert.equal(runtime.received.at(-1)?.endpoint, 'mantle');
  });
});

describe('Claude Platform on AWS', () => {
  const platform = (model: string, headers: Record<string, string>) =>
    fetch(`${emu.url}/v1/messages`, {
      method: 'POST',
      headers: Object.assign({ authorization: 'Bearer k', 'content-type': 'application/json' }, headers),
      body: JSON.stringify({ model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
    });
  it('needs the workspace header and takes Anthropic names only', async () => {
    const none = await platform('claude-opus-5', {});
    assert.equal(none.status, 400);
    assert.match(((await none.json()) as { message: string }).message, /anthropic-workspace-id/);
    assert.equal((await platform('claude-opus-5', { 'anthropic-workspace-id': 'wrkspc_01A' })).status, 200);
    assert.equal((await platform('anthropic.claude-opus-5', { 'anthropic-workspace-id': 'wrkspc_01A' })).status, 404);
  });
});
