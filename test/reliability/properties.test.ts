/** Property tests (fast-check, fixed seed): no exception escapes the error model; translations round-trip. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { getDefaultCatalog } from '../../src/catalog/catalog.js';
import { resolveModel } from '../../src/catalog/resolve-model.js';
import { checkRequest } from '../../src/check/check-request.js';
import { BedrockClaudeError } from '../../src/errors.js';
import { encodeChunkFrame } from '../../src/translate/event-stream.js';
import { fromBedrockError, toBedrockError } from '../../src/translate/errors.js';
import { parseSse } from '../../src/translate/parse-sse.js';
import { emptySummary, eventStreamToSse } from '../../src/translate/to-sse.js';
import { fromBedrockBody, toBedrockRequest } from '../../src/translate/to-bedrock.js';
import { converseToAnthropic } from '../../src/translate/converse.js';

const SEED = Number(process.env['FC_SEED'] ?? 20261124);
const params = { seed: SEED, numRuns: 400 };
const catalog = getDefaultCatalog();
const KEYS = [
  'model',
  'max_tokens',
  'messages',
  'system',
  'stream',
  'tools',
  'tool_choice',
  'thinking',
  'temperature',
  'top_p',
  'top_k',
  'stop_sequences',
  'metadata',
  'anthropic_version',
  'anthropic_beta',
  'betas',
  'context_management',
  'mcp_servers',
  'container',
  'output_config',
];

/** Bodies with the keys Bedrock cares about, holding anything. */
const wildBody = fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string()), fc.jsonValue({ maxDepth: 4 }), {
  maxKeys: 12,
});
const wildMessages = fc.array(
  fc.record(
    {
      role: fc.oneof(fc.constantFrom('user', 'assistant', 'system'), fc.jsonValue()),
      content: fc.oneof(
        fc.string(),
        fc.array(
          fc.oneof(
            fc.record({
              type: fc.constantFrom('text', 'image', 'tool_use', 'tool_result', 'thinking', 'document', 'weird'),
              text: fc.string(),
            }),
            fc.jsonValue({ maxDepth: 2 }),
          ),
          { maxLength: 4 },
        ),
        fc.jsonValue({ maxDepth: 2 }),
      ),
    },
    { requiredKeys: [] },
  ),
  { maxLength: 5 },
);
const modelNames = fc.oneof(
  fc.constantFrom(...catalog.names),
  fc.string(),
  fc.constantFrom(
    '../x',
    'a/b',
    '%2F',
    'us.anthropic.x',
    'arn:aws:bedrock:us-east-1:1:foundation-model/anthropic.claude-opus-4-6-v1',
    'claude\u0000opus',
    'global.anthropic.claude-opus-4-6-v1',
  ),
);
const regions = fc.oneof(
  fc.constantFrom('us-west-2', 'eu-west-1', 'ap-northeast-1', 'ap-south-1', 'us-gov-west-1', 'sa-east-1'),
  fc.string(),
  fc.constant(undefined),
);

function onlyOurErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof BedrockClaudeError)) throw err;
    assert.ok(err.status >= 400 && err.status < 600);
  }
}

describe('properties: no exception escapes the error model', () => {
  it('checkRequest never throws, whatever the body, model, region and headers', () => {
    fc.assert(
      fc.property(
        wildBody,
        wildMessages,
        modelNames,
        regions,
        fc.constantFrom('anthropic', 'bedrock'),
        fc.option(fc.string()),
        (body, messages, model, region, format, beta) => {
          const withMessages = { ...body, messages };
          const ds = checkRequest({
            format: format as 'anthropic' | 'bedrock',
            body: withMessages,
            model,
            region,
            headers: beta === null ? {} : { 'anthropic-beta': beta },
          });
          for (const d of ds) assert.ok(d.code && d.message && typeof d.fix === 'string');
          checkRequest({ format: format as 'anthropic' | 'bedrock', body, region });
        },
      ),
      params,
    );
  });
  it('toBedrockRequest and resolveModel throw only BedrockClaudeError', () => {
    fc.assert(
      fc.property(
        wildBody,
        wildMessages,
        modelNames,
        regions,
        fc.constantFrom('drop', 'strict', 'passthrough'),
        fc.constantFrom('/v1/messages', '/v1/messages/count_tokens', '/v1/messages?beta=true'),
        (body, messages, model, region, policy, path) => {
          onlyOurErrors(() => resolveModel(model, { region }));
          onlyOurErrors(() =>
            toBedrockRequest(
              { path, headers: { 'anthropic-beta': 'claude-code-20250219,x' }, body: { ...body, messages } },
              { modelId: model, policy: policy as 'drop' },
            ),
          );
        },
      ),
      params,
    );
  });
  it('converseToAnthropic throws only BedrockClaudeError', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom('messages', 'system', 'inferenceConfig', 'toolConfig'),
          fc.jsonValue({ maxDepth: 3 }),
        ),
        (body) => onlyOurErrors(() => converseToAnthropic(body, 100)),
      ),
      params,
    );
  });
  it('error mapping is total and stable both ways', () => {
    fc.assert(
      fc.property(fc.integer({ min: 400, max: 599 }), fc.option(fc.string()), fc.string(), (status, header, body) => {
        const e = fromBedrockError(status, header, body);
        assert.ok(e instanceof BedrockClaudeError);
        const back = toBedrockError(e);
        assert.ok(back.status >= 400 && back.status < 600);
        assert.match(back.headers['x-amzn-errortype']!, /^[A-Za-z]+:http/);
      }),
      params,
    );
  });
});

describe('properties: translations round-trip', () => {
  const text = fc.string({ minLength: 1, maxLength: 40 });
  const goodRequest = fc.record({
    model: fc.constantFrom('claude-opus-4-6', 'claude-sonnet-4-5', 'claude-haiku-4-5'),
    max_tokens: fc.integer({ min: 1, max: 4096 }),
    messages: fc.array(fc.record({ role: fc.constantFrom('user', 'assistant'), content: text }), {
      minLength: 1,
      maxLength: 4,
    }),
    system: fc.option(text, { nil: undefined }),
    temperature: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
    stop_sequences: fc.option(fc.array(text, { maxLength: 3 }), { nil: undefined }),
  });
  it('Anthropic → Bedrock → Anthropic gives back the request', () => {
    fc.assert(
      fc.property(
        goodRequest,
        fc.boolean(),
        fc.subarray(['context-1m-2025-08-07', 'interleaved-thinking-2025-05-14', 'effort-2025-11-24']),
        (req, stream, betas) => {
          const body = Object.fromEntries(
            Object.entries({ ...req, ...(stream ? { stream: true } : {}) }).filter(([, v]) => v !== undefined),
          );
          const resolved = resolveModel(req.model, { region: 'us-west-2' });
          const out = toBedrockRequest(
            { path: '/v1/messages', headers: betas.length ? { 'anthropic-beta': betas.join(',') } : {}, body },
            { modelId: resolved.modelId, model: resolved.model, policy: 'passthrough' },
          );
          const back = fromBedrockBody(out.body, req.model, stream);
          assert.deepEqual(back.body, body);
          assert.equal(back.headers['anthropic-beta'], betas.length ? betas.join(',') : undefined);
        },
      ),
      params,
    );
  });
  it('Anthropic events → event-stream frames → SSE → the same events, split anywhere', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            type: fc.constantFrom('content_block_delta', 'ping', 'content_block_stop', 'message_delta'),
            index: fc.nat(5),
            delta: fc.record({ type: fc.constant('text_delta'), text: fc.string() }),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        fc.integer({ min: 1, max: 64 }),
        async (events, chunk) => {
          const bytes = Buffer.concat(events.map((e) => encodeChunkFrame(JSON.stringify(e))));
          async function* pieces() {
            for (let i = 0; i < bytes.length; i += chunk) yield new Uint8Array(bytes.subarray(i, i + chunk));
          }
          const summary = emptySummary();
          const back = [];
          for await (const e of parseSse(eventStreamToSse(pieces(), summary))) back.push(e);
          assert.deepEqual(back, JSON.parse(JSON.stringify(events)));
          assert.equal(summary.error, undefined);
        },
      ),
      { seed: SEED, numRuns: 150 },
    );
  });
});
