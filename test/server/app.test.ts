// The gateway app called in process: no socket, a fake upstream, a fixed clock and ids. Each
// front's decode, encode and error shape, the stages' order, and the one usage record per request.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import { getDefaultCatalog } from '../../src/catalog/catalog.js';
import { createStaticKeyStore } from '../../src/control/key-store.js';
import { BedrockClaudeError } from '../../src/errors.js';
import { createGatewayApp } from '../../src/server/app.js';
import { createModelFronts } from '../../src/server/gateway.js';
import { createGatewayKey } from '../../src/control/gateway-keys.js';
import { createGatewayMetrics } from '../../src/server/metrics.js';
import { createRouter } from '../../src/server/targets.js';
import type { UsageRecord } from '../../src/control/usage-record.js';
import {
  decodeEventStream,
  encodeChunkFrame,
  FrameSplitter,
  frameHeader,
  type EventFrame,
} from '../../src/translate/event-stream.js';
import type { AnthropicHttpRequest } from '../../src/translate/to-bedrock.js';
import type { MessagesResult, Target, Upstream } from '../../src/transport/bedrock-transport.js';

const catalog = getDefaultCatalog();
const HAIKU = 'global.anthropic.claude-haiku-4-5-20251001-v1:0';
const MESSAGE = {
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model: 'claude-haiku-4-5-20251001',
  content: [{ type: 'text', text: 'hi' }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 1000, output_tokens: 200 },
};
const EVENTS = [
  {
    type: 'message_start',
    message: Object.assign({}, MESSAGE, {
      content: [],
      stop_reason: null,
      usage: { input_tokens: 1000, output_tokens: 1 },
    }),
  },
  { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi' } },
  { type: 'content_block_stop', index: 0 },
  { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 200 } },
  { type: 'message_stop' },
];

function frames(...encoded: Uint8Array[]): EventFrame[] {
  return new FrameSplitter().push(Buffer.concat(encoded));
}

type Script = (request: AnthropicHttpRequest, target: Target) => MessagesResult | Promise<MessagesResult>;

/** An upstream that answers from a script and remembers what it was sent. */
function fakeUpstream(script: Script) {
  const sent: AnthropicHttpRequest[] = [];
  const upstream: Upstream = {
    async messages(request, targets) {
      sent.push(request);
      return script(request, targets[0]!);
    },
    close: async () => undefined,
  };
  return { upstream, sent };
}

const info = (target: Target) => ({ target, attempts: 1, removals: [], ttfbMs: 5, headers: {} });
const json: Script = (request, target) => {
  if (request.path.endsWith('/count_tokens'))
    return Object.assign({ kind: 'json' as const, body: { input_tokens: 42 }, usage: undefined }, info(target));
  const raw = Buffer.from(JSON.stringify(MESSAGE));
  return Object.assign({ kind: 'json' as const, body: MESSAGE, usage: MESSAGE.usage, raw }, info(target));
};
const streamed =
  (tail: () => AsyncGenerator<EventFrame[]>): Script =>
  (_request, target) =>
    Object.assign({ kind: 'stream' as const, wire: 'bedrock-eventstream' as const, frames: tail() }, info(target));
const wholeStream = streamed(async function* () {
  yield frames(encodeChunkFrame(JSON.stringify(EVENTS[0])));
  yield frames(...EVENTS.slice(1).map((e) => encodeChunkFrame(JSON.stringify(e))));
});

function makeApp(script: Script, opts: { keys?: ReturnType<typeof createGatewayKey>[] } = {}) {
  const { upstream, sent } = fakeUpstream(script);
  const records: UsageRecord[] = [];
  const errors: string[] = [];
  const logger = pino(
    { base: null },
    new Writable({
      write(chunk, _e, cb) {
        if (String(chunk).includes('"level":50')) errors.push(String(chunk));
        cb();
      },
    }),
  );
  const metrics = createGatewayMetrics();
  let t = 1000;
  let n = 0;
  const router = createRouter({ catalog, region: 'us-west-2', scope: 'global' });
  const app = createGatewayApp({
    catalog,
    router,
    fronts: createModelFronts({ catalog, router, region: 'us-west-2' }),
    upstream,
    keys: createStaticKeyStore((opts.keys ?? []).map((k) => k.entry)),
    sinks: [metrics, { record: (u) => void records.push(structuredClone(u)) }],
    logger,
    region: 'us-west-2',
    scope: 'global',
    policy: 'drop',
    bodyLimit: 10_000,
    backendLabel: 'test',
    ops: {
      openCircuits: () => [],
      metrics: async () => ({ contentType: 'text/plain', text: await metrics.registry.metrics() }),
    },
    now: () => (t += 10),
    clock: () => Date.UTC(2026, 11, 1),
    newId: () => `req_test_${++n}`,
  });
  return { app, sent, records, errors, metrics };
}

const body = (extra: Record<string, unknown> = {}) =>
  JSON.stringify(
    Object.assign({ model: 'claude-haiku-4-5', max_tokens: 300, messages: [{ role: 'user', content: 'hi' }] }, extra),
  );
const HAIKU_COST = (1000 * 1 + 200 * 5) / 1e6;

describe('app in process: Anthropic front', () => {
  it("answers a message with Bedrock's bytes and records one usage record, priced", async () => {
    const { app, sent, records } = makeApp(json);
    const res = await app.request('/v1/messages', {
      body: body(),
      headers: { 'anthropic-beta': 'claude-code-20250219' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.text, JSON.stringify(MESSAGE));
    assert.equal(res.headers['request-id'], 'req_test_1');
    assert.equal(res.headers['x-bedrock-claude-model-id'], HAIKU);
    assert.equal(res.headers['x-bedrock-claude-dropped'], 'claude-code-20250219');
    assert.equal(sent.length, 1);
    assert.equal(records.length, 1);
    const u = records[0]!;
    assert.deepEqual(
      [
        u.requestId,
        u.front,
        u.route,
        u.status,
        u.model,
        u.bedrockModel,
        u.inputTokens,
        u.outputTokens,
        u.streamed,
        u.error,
      ],
      ['req_test_1', 'anthropic', '/v1/messages', 200, 'claude-haiku-4-5', HAIKU, 1000, 200, false, undefined],
    );
    assert.equal(u.costUsd, HAIKU_COST);
    assert.equal(u.latencyMs, 10, 'the injected clock');
    assert.deepEqual(u.dropped, ['claude-code-20250219']);
  });
  it('streams SSE from event-stream frames, with the usage of the stream', async () => {
    const { app, records } = makeApp(wholeStream);
    const res = await app.request('/v1/messages', { body: body({ stream: true }) });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
    const names = [...res.text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    assert.deepEqual(
      names,
      EVENTS.map((e) => e.type),
    );
    assert.equal(records[0]!.streamed, true);
    assert.equal(records[0]!.outputTokens, 200);
    assert.equal(records[0]!.costUsd, HAIKU_COST);
  });
  it('a stream whose upstream fails midway ends with an SSE error event, in the usage record, not as a crash', async () => {
    const { app, records, errors } = makeApp((request, target) =>
      Object.assign(
        {
          kind: 'stream' as const,
          wire: 'anthropic-sse' as const,
          bytes: (async function* () {
            yield Buffer.from(`event: message_start\ndata: ${JSON.stringify(EVENTS[0])}\n\n`);
            throw new BedrockClaudeError('Bedrock in us-west-2 did not answer in time (UND_ERR_BODY_TIMEOUT).', {
              status: 504,
              type: 'timeout_error',
            });
          })(),
        },
        info(target),
      ),
    );
    const res = await app.request('/v1/messages', { body: body({ stream: true }) });
    assert.equal(res.status, 200);
    assert.match(res.text, /event: message_start/);
    assert.match(
      res.text,
      /event: error\ndata: \{"type":"error","error":\{"type":"timeout_error","message":"Bedrock in us-west-2 did not answer in time/,
    );
    assert.equal(records[0]!.error, 'timeout_error');
    assert.equal(records[0]!.inputTokens, 1000, 'usage up to the failure');
    assert.deepEqual(errors, [], 'nothing logged as unexpected');
  });
  it('counts tokens', async () => {
    const { app } = makeApp(json);
    const res = await app.request('/v1/messages/count_tokens', { body: body() });
    assert.deepEqual(res.json(), { input_tokens: 42 });
  });
  it('refuses bad input in its own shape before anything goes upstream', async () => {
    const { app, sent, records } = makeApp(json);
    const cases: Array<[string, string | undefined, number, RegExp]> = [
      ['/v1/messages', '{oops', 400, /not valid JSON/],
      ['/v1/messages', '{"max_tokens":1}', 400, /`model` is required/],
      ['/v1/messages', body({ messages: [{ role: 'user', content: '' }] }), 400, /non-empty content/],
      ['/v1/messages', 'x'.repeat(10_001), 413, /over the limit of 10000 bytes/],
      ['/v1/files', undefined, 404, /The Files API is not available on Amazon Bedrock\. Fix: Send documents/],
      [
        '/v1/nothing-here',
        undefined,
        404,
        /No route for GET \/v1\/nothing-here\. Fix: This gateway serves POST \/v1\/messages, .*POST \/model\/\{modelId\}\/invoke/,
      ],
    ];
    for (const [path, b, status, message] of cases) {
      const res = await app.request(path, b === undefined ? {} : { body: b });
      assert.equal(res.status, status, path);
      const e = res.json<{ type: string; error: { type: string; message: string }; request_id: string }>();
      assert.equal(e.type, 'error');
      assert.match(e.error.message, message);
      assert.equal(e.request_id, res.headers['request-id']);
    }
    assert.equal(sent.length, 0);
    assert.equal(records.length, cases.length, 'a usage record for each refusal too');
    assert.deepEqual(
      records.map((r) => r.status),
      cases.map((c) => c[2]),
    );
  });
  it("checks the gateway key before the route, and a key's model list", async () => {
    const alice = createGatewayKey('alice');
    alice.entry.models = ['claude-opus-*'];
    const { app, records } = makeApp(json, { keys: [alice] });
    assert.equal((await app.request('/v1/messages', { body: body() })).status, 401);
    assert.equal((await app.request('/v1/files', {})).status, 401, 'no key, no hint about routes');
    const refused = await app.request('/v1/messages', { body: body(), headers: { 'x-api-key': alice.key } });
    assert.equal(refused.status, 403);
    assert.match(
      refused.json<{ error: { message: string } }>().error.message,
      /The key "alice" may not call the model "claude-haiku-4-5"/,
    );
    assert.equal(records.at(-1)!.key, 'alice');
    assert.equal((await app.request('/healthz')).status, 200, 'probes need no key');
  });
  it('lists the models it can route', async () => {
    const { app } = makeApp(json);
    const list = (await app.request('/v1/models')).json<{ data: Array<{ id: string }> }>();
    assert.ok(list.data.some((m) => m.id === 'claude-haiku-4-5'));
    assert.equal((await app.request('/v1/models/claude-haiku-4-5')).json<{ id: string }>().id, 'claude-haiku-4-5');
    assert.equal((await app.request('/v1/models/no-such-model')).status, 404);
  });
});

describe('app in process: Bedrock front', () => {
  const invokeBody = JSON.stringify({
    anthropic_version: 'bedrock-2023-05-31',
    max_tokens: 300,
    messages: [{ role: 'user', content: 'hi' }],
  });
  it("answers InvokeModel with Bedrock's bytes; the model ID is decoded once from its segment", async () => {
    const { app, sent, records } = makeApp(json);
    const res = await app.request(`/model/${encodeURIComponent(HAIKU)}/invoke`, { body: invokeBody });
    assert.equal(res.status, 200);
    assert.equal(res.text, JSON.stringify(MESSAGE));
    assert.equal(sent[0]!.body['model'], HAIKU);
    assert.equal(records[0]!.route, '/model/{modelId}/invoke');
    assert.equal(records[0]!.front, 'bedrock');
  });
  it("passes the stream's frames through byte for byte", async () => {
    const encoded = EVENTS.map((e) => encodeChunkFrame(JSON.stringify(e)));
    const { app, records } = makeApp(
      streamed(async function* () {
        yield frames(encoded[0]!);
        yield frames(...encoded.slice(1));
      }),
    );
    const res = await app.request(`/model/${HAIKU}/invoke-with-response-stream`, { body: invokeBody });
    assert.equal(res.headers['content-type'], 'application/vnd.amazon.eventstream');
    assert.deepEqual(res.bytes, Buffer.concat(encoded));
    assert.equal(records[0]!.outputTokens, 200);
  });
  it('a stream cut off by the network ends with the exception frame Bedrock would send', async () => {
    const { app, records } = makeApp(
      streamed(async function* () {
        yield frames(encodeChunkFrame(JSON.stringify(EVENTS[0])));
        throw new BedrockClaudeError('Could not reach Bedrock in us-west-2: ECONNRESET', {
          status: 502,
          type: 'api_error',
        });
      }),
    );
    const res = await app.request(`/model/${HAIKU}/invoke-with-response-stream`, { body: invokeBody });
    const got: EventFrame[] = [];
    for await (const f of decodeEventStream(
      (async function* () {
        yield res.bytes;
      })(),
    ))
      got.push(f);
    assert.equal(got.length, 2);
    assert.equal(frameHeader(got[1]!, ':exception-type'), 'internalServerException');
    assert.equal(records[0]!.error, 'api_error');
  });
  it('counts tokens as Bedrock answers them', async () => {
    const { app } = makeApp(json);
    const inner = Buffer.from(invokeBody).toString('base64');
    const res = await app.request(`/model/${HAIKU}/count-tokens`, {
      body: JSON.stringify({ input: { invokeModel: { body: inner } } }),
    });
    assert.deepEqual(res.json(), { inputTokens: 42 });
  });
  it('errors in Bedrock\'s shape: x-amzn-ErrorType and {"message"}', async () => {
    const { app } = makeApp(json);
    const bad = await app.request(`/model/${HAIKU}/invoke`, { body: '[]' });
    assert.equal(bad.status, 400);
    assert.match(bad.headers['x-amzn-errortype']!, /^ValidationException:/);
    assert.match(bad.json<{ message: string }>().message, /must be a JSON object/);
    const unknown = await app.request(`/model/${HAIKU}/nope`, { body: '{}' });
    assert.equal(unknown.status, 404);
    assert.match(
      unknown.headers['x-amzn-errortype']!,
      /^UnknownOperationException:http:\/\/internal\.amazon\.com\/coral\/com\.amazon\.coral\.service\//,
    );
    assert.match(
      unknown.json<{ message: string }>().message,
      /serves the Bedrock routes POST \/model\/\{modelId\}\/invoke, POST \/model\/\{modelId\}\/invoke-with-response-stream.*\/converse-stream/,
    );
    // Converse is a front of its own, with Bedrock's error shape.
    const converse = await app.request(`/model/${HAIKU}/converse`, { body: '{"messages": 1}' });
    assert.equal(converse.status, 400);
    assert.match(converse.headers['x-amzn-errortype']!, /^ValidationException:/);
    assert.match(converse.json<{ message: string }>().message, /#\/messages: must be an array/);
    const encodedBadly = await app.request('/model/%E0%A4%A/invoke', { body: invokeBody });
    assert.match(encodedBadly.json<{ message: string }>().message, /The provided model identifier is invalid/);
  });
});

describe('app in process: probes, metrics and draining', () => {
  it('labels metrics by front and route pattern, never by raw path', async () => {
    const { app } = makeApp(json);
    await app.request(`/model/${HAIKU}/invoke`, {
      body: JSON.stringify({
        anthropic_version: 'bedrock-2023-05-31',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'x' }],
      }),
    });
    await app.request('/scanner/probe/123');
    const text = (await app.request('/metrics')).text;
    assert.match(
      text,
      /bedrock_claude_requests_total\{front="bedrock",path="\/model\/\{modelId\}\/invoke",status="200"\} 1/,
    );
    assert.match(text, /bedrock_claude_requests_total\{front="anthropic",path="other",status="404"\} 1/);
    assert.doesNotMatch(text, /scanner/);
  });
  it('while draining, model calls get 529 with retry-after and /readyz says draining', async () => {
    const { app } = makeApp(json);
    app.drain();
    const res = await app.request('/v1/messages', { body: body() });
    assert.equal(res.status, 529);
    assert.equal(res.headers['retry-after'], '1');
    const ready = await app.request('/readyz');
    assert.equal(ready.status, 503);
    assert.equal(ready.json<{ status: string }>().status, 'draining');
  });
});
