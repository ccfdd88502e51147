/** Secrets never leak; keys are hashed and enforced on both fronts; model IDs cannot steer the upstream URL. */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import AnthropicBedrock from '@anthropic-ai/bedrock-sdk';
import pino from 'pino';
import { request } from 'undici';
import { createCredentialCache } from '../../src/aws/credentials.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { createGatewayKey } from '../../src/control/gateway-keys.js';
import { startGateway, type RunningGateway } from '../../src/server/gateway.js';

const SECRETS = {
  accessKeyId: 'AKIASECRETTESTKEY123',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiSECRETKEY',
  sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN/secret+value==',
  bedrockApiKey: 'ABSKQmVkcm9ja0FQSUtleS1zZWNyZXQtdmFsdWU=',
};
const alice = createGatewayKey('alice');
const haikuOnly = createGatewayKey('haiku-only');
haikuOnly.entry.models = ['claude-haiku-*', 'global.anthropic.claude-haiku-4-5-20251001-v1:0'];

const captured: string[] = [];
const logger = pino(
  { base: null },
  new Writable({
    write(chunk, _e, cb) {
      captured.push(String(chunk));
      cb();
    },
  }),
);
let emu: RunningEmulator;
let sig: RunningGateway;
let bearer: RunningGateway;
let broken: RunningGateway;

async function send(g: RunningGateway, path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await request(`${g.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  captured.push(JSON.stringify(res.headers), text);
  return { status: res.statusCode, text };
}

before(async () => {
  emu = await startEmulator({
    port: 0,
    credentials: [{ accessKeyId: SECRETS.accessKeyId, secretAccessKey: SECRETS.secretAccessKey }],
    apiKeys: [SECRETS.bedrockApiKey],
  });
  sig = await startGateway({
    port: 0,
    region: 'us-west-2',
    auth: {
      kind: 'sigv4',
      credentials: createCredentialCache({
        accessKeyId: SECRETS.accessKeyId,
        secretAccessKey: SECRETS.secretAccessKey,
        sessionToken: SECRETS.sessionToken,
      }),
    },
    endpoint: emu.url,
    keys: [alice.entry, haikuOnly.entry],
    logger,
    retry: { max: 0 },
  });
  bearer = await startGateway({
    port: 0,
    region: 'us-west-2',
    auth: { kind: 'bearer', token: SECRETS.bedrockApiKey },
    endpoint: emu.url,
    keys: [alice.entry],
    logger,
    retry: { max: 0 },
  });
  broken = await startGateway({
    port: 0,
    region: 'us-west-2',
    auth: {
      kind: 'sigv4',
      credentials: createCredentialCache({
        accessKeyId: SECRETS.accessKeyId,
        secretAccessKey: 'not-the-secret-either-' + SECRETS.secretAccessKey.slice(0, 6),
      }),
    },
    endpoint: emu.url,
    keys: [alice.entry],
    logger,
    retry: { max: 0 },
  });
});
after(async () => {
  for (const g of [sig, bearer, broken]) await g.close(100);
  await emu.close();
});

const good = { model: 'claude-haiku-4-5', max_tokens: 20, messages: [{ role: 'user', content: 'hello' }] };

describe('secrets never appear in logs, errors or metrics', () => {
  it('drives success and failure paths on both fronts and finds no secret in anything captured', async () => {
    const key = { 'x-api-key': alice.key };
    assert.equal((await send(sig, '/v1/messages', good, key)).status, 200);
    assert.equal(
      (await send(sig, '/v1/messages', { ...good, stream: true }, { authorization: `Bearer ${alice.key}` })).status,
      200,
    );
    assert.equal((await send(bearer, '/v1/messages', good, key)).status, 200);
    assert.equal((await send(sig, '/v1/messages', good, { 'x-api-key': `${alice.key}x` })).status, 401);
    assert.equal((await send(sig, '/v1/messages', { ...good, model: 'nope' }, key)).status, 404);
    assert.equal((await send(sig, '/v1/messages', '{bad', key)).status, 400);
    const denied = await send(broken, '/v1/messages', good, key);
    assert.equal(denied.status, 403, denied.text);
    emu.setFaults('throttle=1');
    assert.equal((await send(sig, '/v1/messages', good, key)).status, 429);
    emu.setFaults(undefined);
    assert.equal(
      (
        await send(
          sig,
          `/model/${encodeURIComponent('global.anthropic.claude-haiku-4-5-20251001-v1:0')}/invoke`,
          { anthropic_version: 'bedrock-2023-05-31', max_tokens: 5, messages: good.messages },
          key,
        )
      ).status,
      200,
    );
    assert.equal((await send(sig, '/model/x/invoke', {}, { 'x-api-key': 'wrong' })).status, 403);
    for (const g of [sig, bearer, broken]) captured.push(await (await request(`${g.url}/metrics`)).body.text());
    // The last request's log line is written once its answer has ended: wait for that line, not for a time.
    for (let i = 0; i < 1000 && !captured.some((l) => l.includes('/model/x/invoke') && l.includes('403')); i++)
      await new Promise((r) => setImmediate(r));
    const all = captured.join('\n');
    assert.ok(all.includes('"status":200') && all.includes('bedrock_claude_requests_total'), 'something was captured');
    for (const [name, value] of Object.entries({ ...SECRETS, gatewayKey: alice.key, otherKey: haikuOnly.key })) {
      assert.ok(!all.includes(value), `${name} leaked`);
    }
    // the emulator's record of what it received is redacted too
    assert.ok(!JSON.stringify(emu.received).includes(SECRETS.sessionToken));
    assert.ok(!JSON.stringify(emu.received).includes(SECRETS.bedrockApiKey));
  });
});

describe('keys', () => {
  it('enforce per-key model allow-lists on both fronts', async () => {
    const k = { 'x-api-key': haikuOnly.key };
    assert.equal((await send(sig, '/v1/messages', good, k)).status, 200);
    const no = await send(sig, '/v1/messages', { ...good, model: 'claude-opus-4-6' }, k);
    assert.equal(no.status, 403);
    assert.match(no.text, /permission_error/);
    const client = (model: string) =>
      new AnthropicBedrock({
        baseURL: sig.url,
        skipAuth: true,
        awsRegion: 'us-west-2',
        maxRetries: 0,
        defaultHeaders: k,
      }).messages.create({ model, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] });
    assert.equal((await client('global.anthropic.claude-haiku-4-5-20251001-v1:0')).type, 'message');
    await assert.rejects(client('global.anthropic.claude-opus-4-6-v1'), (e: { status?: number }) => e.status === 403);
  });
  it('refuse a non-loopback address without keys', async () => {
    // startGateway itself does not decide this; the CLI does (tested in test/cli): here, the hashing.
    assert.ok(!JSON.stringify(alice.entry).includes(alice.key));
    assert.equal(alice.entry.sha256.length, 64);
  });
});

describe('model IDs cannot steer the upstream URL', () => {
  it('path and host injection through the model go nowhere but the configured upstream', async () => {
    const key = { 'x-api-key': alice.key };
    const before = emu.received.length;
    for (const model of [
      '../../healthz',
      '..%2F..%2Fhealthz',
      'global.anthropic.claude-haiku-4-5-20251001-v1:0/../../x',
      'http://evil.example/',
      '@evil.example',
      'x?y=1#z',
      'a\r\nHost: evil',
    ]) {
      const r = await send(sig, '/v1/messages', { ...good, model }, key);
      assert.ok(r.status === 404 || r.status === 400, `${model}: ${r.status}`);
    }
    for (const seg of ['..%2F..%2Fhealthz', '%2e%2e%2f%2e%2e%2fhealthz', encodeURIComponent('http://evil.example/x')]) {
      const r = await send(
        sig,
        `/model/${seg}/invoke`,
        { anthropic_version: 'bedrock-2023-05-31', max_tokens: 5, messages: good.messages },
        key,
      );
      assert.ok(r.status >= 400 && r.status < 500, `${seg}: ${r.status}`);
    }
    assert.equal(emu.received.length, before, 'none of them reached the upstream');
  });
  it('the Host header a client sends does not change where the gateway calls', async () => {
    const before = emu.received.length;
    const res = await request(`${sig.url}/v1/messages`, {
      method: 'POST',
      headers: { host: 'evil.example', 'x-api-key': alice.key, 'x-forwarded-host': 'evil.example' },
      body: JSON.stringify(good),
    });
    assert.equal(res.statusCode, 200);
    await res.body.text();
    assert.equal(emu.received.length, before + 1, 'the configured upstream got it');
  });
});
