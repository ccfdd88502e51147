/**
 * Backends as data (issue 26 items 1, 2 and 10): each model's endpoints come from the catalog; the newest models go
 * to bedrock-runtime's Messages API by profile ID, in-region to bedrock-mantle by bare ID; a route may list several
 * endpoints (Claude Platform on AWS among them) and fails over between them before the first byte; the client's API
 * version is answered with one the endpoint takes, its rules applied by the gateway. Through the gateway on the
 * emulator, with the official SDKs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { AnthropicBedrock } from '@anthropic-ai/bedrock-sdk';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { getDefaultCatalog } from '../../src/catalog/catalog.js';
import { parseGatewayConfig } from '../../src/server/config.js';
import { createRouter } from '../../src/server/targets.js';
import type { RunningGateway } from '../../src/server/gateway.js';
import { CREDS, gatewayOn } from '../helpers.js';

let emu: RunningEmulator;
let gw: RunningGateway;
const ask = { max_tokens: 32, messages: [{ role: 'user' as const, content: 'hello' }] };
const last = () => emu.received.at(-1)!;

before(async () => {
  emu = await startEmulator({ port: 0, faults: 'eu-west-1:throttle=1' });
  gw = await gatewayOn(emu.url, {
    retry: { max: 0 },
    routes: {
      // The runtime Messages API throttled in eu-west-1, then bedrock-mantle (a pool of its own) in eu-central-1.
      'opus-failover': [
        { region: 'eu-west-1', modelId: 'eu.anthropic.claude-opus-5', backend: 'messages' },
        { region: 'eu-central-1', modelId: 'eu.anthropic.claude-opus-5', backend: 'mantle' },
      ],
      'opus-platform': [
        { region: 'us-east-1', modelId: 'anthropic.claude-opus-5', backend: 'platform', workspaceId: 'wrkspc_01Test' },
      ],
    },
  });
});
after(async () => {
  await gw.close(100);
  await emu.close();
});

describe('which endpoint serves which model', () => {
  it('the newest models go to the Messages API by profile ID; legacy ones to InvokeModel; the SDK sends 2026-10-21', async () => {
    const client = new Anthropic({ apiKey: 'unused', baseURL: gw.url, maxRetries: 0 });
    const opus = await client.messages.create(Object.assign({ model: 'claude-opus-5' }, ask)).withResponse();
    assert.deepEqual(opus.data.content, [{ type: 'text', text: 'hello' }]);
    assert.equal(opus.response.headers.get('x-bedrock-claude-endpoint'), 'messages');
    assert.deepEqual([last().operation, last().endpoint], ['mantle-messages', 'runtime']);
    assert.equal((last().body as Record<string, unknown>)['model'], 'global.anthropic.claude-opus-5');
    // The SDK speaks 2026-10-21; bedrock-runtime's Messages API is sent the version it is known to take.
    assert.equal(last().headers['anthropic-version'], '2023-06-01');

    const legacy = await client.messages.create(Object.assign({ model: 'claude-sonnet-4-5' }, ask)).withResponse();
    assert.equal(legacy.response.headers.get('x-bedrock-claude-endpoint'), 'invoke');
    assert.equal(last().operation, 'invoke');
    assert.equal((last().body as Record<string, unknown>)['anthropic_version'], 'bedrock-2023-05-31');
  });

  it('in-region, the newest models are bedrock-mantle by bare ID; count_tokens is counted there too', async () => {
    const local = await gatewayOn(emu.url, { scope: 'in-region', retry: { max: 0 } });
    try {
      const client = new Anthropic({ apiKey: 'unused', baseURL: local.url, maxRetries: 0 });
      const stream = client.messages.stream(Object.assign({ model: 'claude-opus-5' }, ask));
      assert.equal((await stream.finalMessage()).stop_reason, 'end_turn');
      assert.deepEqual([last().endpoint, last().modelId], ['mantle', 'anthropic.claude-opus-5']);
      const counted = await new Anthropic({ apiKey: 'unused', baseURL: gw.url, maxRetries: 0 }).messages.countTokens({
        model: 'claude-opus-5',
        messages: ask.messages,
      });
      assert.ok(counted.input_tokens > 0);
      // bedrock-runtime counts no tokens for the profile-only models: bedrock-mantle does, by bare ID.
      assert.deepEqual(
        [last().operation, last().endpoint, last().modelId],
        ['mantle-count-tokens', 'mantle', 'anthropic.claude-opus-5'],
      );
    } finally {
      await local.close(100);
    }
  });

  it('the Bedrock SDK on the InvokeModel front reaches the Messages API and gets Bedrock frames back', async () => {
    const bedrock = new AnthropicBedrock({
      awsRegion: 'us-west-2',
      baseURL: gw.url,
      awsAccessKey: CREDS.accessKeyId,
      awsSecretKey: CREDS.secretAccessKey,
      maxRetries: 0,
    });
    const text: string[] = [];
    const stream = bedrock.messages.stream(Object.assign({ model: 'global.anthropic.claude-opus-5-5' }, ask));
    stream.on('text', (t) => text.push(t));
    const final = await stream.finalMessage();
    assert.equal(text.join(''), 'hello');
    assert.ok(final.usage.output_tokens > 0);
    assert.deepEqual([last().endpoint, last().modelId], ['runtime', 'global.anthropic.claude-opus-5-5']);
  });
});

describe('routes over several endpoints', () => {
  it('fail over from a throttled endpoint to another before the first byte', async () => {
    const client = new Anthropic({ apiKey: 'unused', baseURL: gw.url, maxRetries: 0 });
    const r = await client.messages.create(Object.assign({ model: 'opus-failover' }, ask)).withResponse();
    assert.equal(r.response.headers.get('x-bedrock-claude-endpoint'), 'mantle');
    const tail = emu.received.slice(-2);
    assert.deepEqual(
      tail.map((x) => [x.region, x.fault ?? x.endpoint]),
      [
        ['eu-west-1', 'throttle'],
        ['eu-central-1', 'mantle'],
      ],
    );
    // The ID each endpoint takes: the configured profile ID became the bare ID on bedrock-mantle.
    assert.equal(tail[1]!.modelId, 'anthropic.claude-opus-5');
  });

  it('Claude Platform on AWS: Anthropic names, the workspace header, the API version the client speaks', async () => {
    const client = new Anthropic({ apiKey: 'unused', baseURL: gw.url, maxRetries: 0 });
    const r = await client.messages
      .create(Object.assign({ model: 'opus-platform', temperature: 0.5 }, ask))
      .withResponse();
    assert.equal(r.response.headers.get('x-bedrock-claude-endpoint'), 'platform');
    const got = last();
    assert.deepEqual([got.endpoint, got.modelId], ['platform', 'claude-opus-5']);
    assert.equal(got.headers['anthropic-workspace-id'], 'wrkspc_01Test');
    // It takes 2026-10-21, so the version and the body go as they are: the upstream enforces its own rules.
    assert.equal(got.headers['anthropic-version'], '2026-10-21');
    assert.equal((got.body as Record<string, unknown>)['temperature'], 0.5);
  });

  it('a platform target needs its workspace, and nothing else takes one', () => {
    const base = 'region: us-west-2\nroutes:\n  x:\n    - region: us-east-1\n      modelId: claude-opus-5\n';
    assert.throws(() => parseGatewayConfig(`${base}      backend: platform\n`), /needs workspaceId/);
    assert.throws(
      () => parseGatewayConfig(`${base}      backend: mantle\n      workspaceId: wrkspc_01A\n`),
      /needs workspaceId, and only it takes one/,
    );
    assert.ok(parseGatewayConfig(`${base}      backend: platform\n      workspaceId: wrkspc_01A\n`));
    // Where Claude Platform's inference runs is not bound to the workspace's region: scope geo refuses it.
    const platform = {
      region: 'us-east-1',
      modelId: 'claude-opus-5',
      backend: 'platform' as const,
      workspaceId: 'wrkspc_01A',
    };
    const options = { catalog: getDefaultCatalog(), region: 'us-east-1', routes: { x: [platform] } };
    assert.throws(
      () => createRouter(Object.assign({ scope: 'geo' as const }, options)),
      /mixes geographies \(global\)/,
    );
    assert.equal(
      createRouter(Object.assign({ scope: 'global' as const }, options)).targetsFor('x')[0]!.pricedAs,
      'global',
    );
  });
});

describe('API version 2026-10-21 on an endpoint sent 2023-06-01', () => {
  const raw = (headers: Record<string, string>, body: Record<string, unknown>) =>
    fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: Object.assign({ 'content-type': 'application/json' }, headers),
      body: JSON.stringify(Object.assign({ model: 'claude-opus-5' }, ask, body)),
    });

  it('drops what the version refuses and says so; 2023-06-01 keeps it', async () => {
    const r = await raw({ 'anthropic-version': '2026-10-21' }, { temperature: 0.2, top_k: 5 });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-bedrock-claude-dropped'), 'temperature, top_k');
    const body = last().body as Record<string, unknown>;
    assert.ok(!('temperature' in body) && !('top_k' in body));
    const old = await raw({ 'anthropic-version': '2023-06-01' }, { temperature: 0.2 });
    assert.equal(old.status, 200);
    assert.equal((last().body as Record<string, unknown>)['temperature'], 0.2);
  });

  it('refuses what cannot be adapted (a document in an assistant turn), naming it, with the fix', async () => {
    const doc = { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'x' } };
    const r = await raw(
      { 'anthropic-version': '2026-10-21' },
      {
        messages: [
          { role: 'user', content: 'a' },
          { role: 'assistant', content: [doc] },
          { role: 'user', content: 'b' },
        ],
      },
    );
    assert.equal(r.status, 400);
    const err = (await r.json()) as { error: { type: string; message: string } };
    assert.equal(err.error.type, 'invalid_request_error');
    assert.match(
      err.error.message,
      /messages\[1\]\.content\[0\]: API version 2026-10-21 takes document blocks in user/,
    );
    assert.match(err.error.message, /anthropic-version: 2023-06-01/);
  });

  it('under policy strict, refuses what drop would remove', async () => {
    const strict = await gatewayOn(emu.url, { policy: 'strict' });
    try {
      const r = await fetch(`${strict.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'anthropic-version': '2026-10-21' },
        body: JSON.stringify(Object.assign({ model: 'claude-opus-5', top_p: 0.9 }, ask)),
      });
      assert.equal(r.status, 400);
      assert.match(((await r.json()) as { error: { message: string } }).error.message, /top_p: API version 2026-10-21/);
    } finally {
      await strict.close(100);
    }
  });
});
