import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getDefaultCatalog } from '../../src/catalog/catalog.js';
import { BedrockClaudeError } from '../../src/errors.js';
import { judgeBeta, sanitizeBedrockBody } from '../../src/translate/sanitize.js';
import {
  bedrockPath,
  fromBedrockBody,
  fromCountTokensBody,
  fromCountTokensResponse,
  parseBetaHeader,
  toBedrockRequest,
  toCountTokensBody,
} from '../../src/translate/to-bedrock.js';

const OPUS = 'global.anthropic.claude-opus-4-6-v1';
const SONNET = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const base = { model: 'claude-opus-4-6', max_tokens: 100, messages: [{ role: 'user', content: 'Hi' }] };

describe('toBedrockRequest', () => {
  it('moves model and stream out of the body, adds anthropic_version, encodes the ID as one segment', () => {
    const out = toBedrockRequest(
      { path: '/v1/messages?beta=true', body: { ...base, stream: true } },
      { modelId: SONNET },
    );
    assert.equal(out.path, '/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke-with-response-stream');
    assert.equal(out.operation, 'invoke-with-response-stream');
    assert.deepEqual(out.body, { anthropic_version: 'bedrock-2023-05-31', max_tokens: 100, messages: base.messages });
    assert.equal(out.stream, true);
    const plain = toBedrockRequest({ path: '/v1/messages', body: base }, { modelId: OPUS });
    assert.equal(plain.path, '/model/global.anthropic.claude-opus-4-6-v1/invoke');
  });
  it('never lets a model ID steer the path', () => {
    const out = toBedrockRequest({ path: '/v1/messages', body: base }, { modelId: '../../evil/x?y=1#z' });
    assert.equal(out.path, '/model/..%2F..%2Fevil%2Fx%3Fy%3D1%23z/invoke');
    assert.equal(
      bedrockPath('arn:aws:bedrock:us-east-1:1:application-inference-profile/abc', 'invoke'),
      '/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Aapplication-inference-profile%2Fabc/invoke',
    );
  });
  it('merges betas from the header, the SDK field and the body, deduplicated, in order', () => {
    const out = toBedrockRequest(
      {
        path: '/v1/messages',
        headers: { 'Anthropic-Beta': 'interleaved-thinking-2025-05-14, context-1m-2025-08-07' },
        body: { ...base, anthropic_beta: ['context-1m-2025-08-07'], betas: ['effort-2025-11-24'] },
      },
      { modelId: OPUS },
    );
    assert.deepEqual(out.body['anthropic_beta'], [
      'context-1m-2025-08-07',
      'interleaved-thinking-2025-05-14',
      'effort-2025-11-24',
    ]);
    assert.equal('betas' in out.body, false);
    assert.deepEqual(parseBetaHeader(['a, b', 'c']), ['a', 'b', 'c']);
    assert.deepEqual(parseBetaHeader(undefined), []);
  });
  it('drops (and reports) what Bedrock rejects under the default policy', () => {
    const body = {
      ...base,
      temperature: 0.2,
      top_p: 0.5,
      max_tokens: 999_999,
      context_management: { edits: [] },
      mcp_servers: [{ url: 'x' }],
      container: 'c',
      unknown_field: 1,
      tools: [
        { name: 'a', input_schema: { type: 'object' }, defer_loading: true, eager_input_streaming: true },
        { type: 'web_search_20250305', name: 'web_search' },
      ],
    };
    const out = toBedrockRequest(
      {
        path: '/v1/messages',
        headers: {
          'anthropic-beta':
            'claude-code-20250219,oauth-2025-04-20,advanced-tool-use-2025-11-20,prompt-caching-scope-2026-01-05',
        },
        body,
      },
      { modelId: OPUS },
    );
    assert.deepEqual(out.body['anthropic_beta'], ['tool-search-tool-2025-10-19']);
    assert.deepEqual(out.body['tools'], [{ name: 'a', input_schema: { type: 'object' } }]);
    for (const k of ['context_management', 'mcp_servers', 'container', 'unknown_field', 'top_p'])
      assert.equal(k in out.body, false, k);
    assert.equal(out.body['max_tokens'], 128_000);
    const names = out.removals.map((r) => r.name);
    for (const n of [
      'claude-code-20250219',
      'oauth-2025-04-20',
      'advanced-tool-use-2025-11-20',
      'context_management',
      'top_p',
      'max_tokens',
      'web_search',
    ])
      assert.ok(names.includes(n), n);
    assert.equal((body.tools[0] as Record<string, unknown>)['defer_loading'], true, "the caller's body is not mutated");
  });
  it('keeps context_management when its beta is on, drops tools entirely when all were server tools', () => {
    const out = toBedrockRequest(
      {
        path: '/v1/messages',
        headers: { 'anthropic-beta': 'context-management-2025-06-27' },
        body: { ...base, context_management: { edits: [] }, tools: [{ type: 'web_fetch_20250910', name: 'f' }] },
      },
      { modelId: OPUS },
    );
    assert.deepEqual(out.body['context_management'], { edits: [] });
    assert.equal('tools' in out.body, false);
  });
  it('strict refuses with a 400 naming each problem; passthrough sends everything', () => {
    assert.throws(
      () =>
        toBedrockRequest(
          { path: '/v1/messages', headers: { 'anthropic-beta': 'files-api-2025-04-14' }, body: base },
          { modelId: OPUS, policy: 'strict' },
        ),
      (e: unknown) => e instanceof BedrockClaudeError && e.status === 400 && /files-api-2025-04-14/.test(e.message),
    );
    // Sources disagree on claude-code-20250219 (Anthropic's gateway sends it to Bedrock): dropped, never refused.
    const disputed = toBedrockRequest(
      { path: '/v1/messages', headers: { 'anthropic-beta': 'claude-code-20250219' }, body: base },
      { modelId: OPUS, policy: 'strict' },
    );
    assert.equal(disputed.body['anthropic_beta'], undefined);
    assert.deepEqual(
      disputed.removals.map((r) => r.name),
      ['claude-code-20250219'],
    );
    const renamedOnly = toBedrockRequest(
      { path: '/v1/messages', headers: { 'anthropic-beta': 'advanced-tool-use-2025-11-20' }, body: base },
      { modelId: OPUS, policy: 'strict' },
    );
    assert.deepEqual(renamedOnly.body['anthropic_beta'], ['tool-search-tool-2025-10-19']);
    const pass = toBedrockRequest(
      {
        path: '/v1/messages',
        headers: { 'anthropic-beta': 'claude-code-20250219' },
        body: { ...base, container: 'x' },
      },
      { modelId: OPUS, policy: 'passthrough' },
    );
    assert.deepEqual(pass.body['anthropic_beta'], ['claude-code-20250219']);
    assert.equal(pass.body['container'], 'x');
    assert.deepEqual(pass.removals, []);
  });
  it('drops the 1M beta for a model without it', () => {
    const out = toBedrockRequest(
      { path: '/v1/messages', headers: { 'anthropic-beta': 'context-1m-2025-08-07' }, body: base },
      { modelId: 'global.anthropic.claude-haiku-4-5-20251001-v1:0' },
    );
    assert.equal('anthropic_beta' in out.body, false);
    assert.match(out.removals[0]!.reason, /1M-token context/);
  });
  it('keeps a valid anthropic_version, replaces a wrong one, rejects non-array anthropic_beta', () => {
    assert.equal(
      toBedrockRequest(
        { path: '/v1/messages', body: { ...base, anthropic_version: 'bedrock-2023-05-31' } },
        { modelId: OPUS },
      ).body['anthropic_version'],
      'bedrock-2023-05-31',
    );
    assert.equal(
      toBedrockRequest({ path: '/v1/messages', body: { ...base, anthropic_version: '2026-10-21' } }, { modelId: OPUS })
        .body['anthropic_version'],
      'bedrock-2023-05-31',
    );
    assert.throws(
      () => toBedrockRequest({ path: '/v1/messages', body: { ...base, anthropic_beta: 'x' } }, { modelId: OPUS }),
      /array of strings/,
    );
    assert.throws(
      () => toBedrockRequest({ path: '/v1/files', body: base }, { modelId: OPUS }),
      /No Bedrock equivalent/,
    );
  });
  it('count_tokens becomes CountTokens on the base model ID, and back', () => {
    const out = toBedrockRequest(
      { path: '/v1/messages/count_tokens', body: { model: 'claude-sonnet-4-5', messages: base.messages, system: 'S' } },
      { modelId: SONNET },
    );
    assert.equal(out.operation, 'count-tokens');
    assert.equal(out.path, '/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/count-tokens');
    const inner = fromCountTokensBody(out.body);
    assert.deepEqual(inner, {
      anthropic_version: 'bedrock-2023-05-31',
      messages: base.messages,
      system: 'S',
      max_tokens: 1,
    });
    assert.deepEqual(toCountTokensBody(inner), out.body);
    assert.deepEqual(fromCountTokensResponse({ inputTokens: 12 }), { input_tokens: 12 });
    assert.throws(() => fromCountTokensResponse({}), /inputTokens/);
    assert.throws(() => fromCountTokensBody({ input: {} }), /invokeModel\.body/);
    assert.throws(
      () => fromCountTokensBody({ input: { invokeModel: { body: Buffer.from('nope').toString('base64') } } }),
      /not base64 of a JSON object/,
    );
    assert.throws(
      () => fromCountTokensBody({ input: { invokeModel: { body: Buffer.from('[1]').toString('base64') } } }),
      /not base64 of a JSON object/,
    );
  });
  it('goes back from a Bedrock body to an Anthropic request', () => {
    const back = fromBedrockBody(
      { anthropic_version: 'bedrock-2023-05-31', anthropic_beta: ['a', 'b'], max_tokens: 5, messages: [] },
      'claude-opus-4-6',
      true,
    );
    assert.deepEqual(back.body, { model: 'claude-opus-4-6', max_tokens: 5, messages: [], stream: true });
    assert.equal(back.headers['anthropic-beta'], 'a,b');
    assert.equal(fromBedrockBody({ max_tokens: 1 }, 'm').headers['anthropic-beta'], undefined);
  });
  it('judges betas against the catalog lists', () => {
    const data = getDefaultCatalog().data;
    assert.deepEqual(judgeBeta('effort-2025-11-24', undefined, data), { ok: true, beta: 'effort-2025-11-24' });
    assert.equal(judgeBeta('files-api-2025-04-14', undefined, data).ok, false);
    const body: Record<string, unknown> = { max_tokens: 1, tools: ['not-an-object'] };
    // Malformed tools are left for Bedrock's schema check to refuse, not silently removed.
    assert.deepEqual(sanitizeBedrockBody({ body, betas: [], model: undefined, data, policy: 'drop' }).removals, []);
    assert.deepEqual(body['tools'], ['not-an-object']);
  });
  it('folds mid-conversation system messages into the user turn (Bedrock takes only user and assistant)', () => {
    const messages = [
      { role: 'system', content: 'early note' },
      { role: 'user', content: 'hi' },
      { role: 'system', content: [{ type: 'text', text: 'agent list' }] },
      { role: 'assistant', content: 'hello' },
      { role: 'system', content: 'late' },
    ];
    const out = toBedrockRequest({ path: '/v1/messages', body: { ...base, messages } }, { modelId: OPUS });
    assert.deepEqual(out.body['messages'], [
      {
        role: 'user',
        content: [
          { type: 'text', text: '<system-reminder>\nearly note\n</system-reminder>' },
          { type: 'text', text: 'hi' },
          { type: 'text', text: '<system-reminder>\nagent list\n</system-reminder>' },
        ],
      },
      { role: 'assistant', content: 'hello' },
      { role: 'user', content: [{ type: 'text', text: '<system-reminder>\nlate\n</system-reminder>' }] },
    ]);
    assert.equal(out.removals.filter((r) => r.name.endsWith('.role')).length, 3);
    assert.equal(messages[0]!.role, 'system', 'caller untouched');
  });
});

describe('CountTokens answers', () => {
  it('a CountTokens answer without a count is Bedrock misbehaving (502 api_error), not a TypeError', () => {
    assert.deepEqual(fromCountTokensResponse({ inputTokens: 7 }), { input_tokens: 7 });
    assert.deepEqual(fromCountTokensResponse({ input_tokens: 8 }), { input_tokens: 8 });
    assert.throws(
      () => fromCountTokensResponse({ tokens: 'x' }),
      (e: unknown) =>
        e instanceof BedrockClaudeError &&
        e.status === 502 &&
        e.type === 'api_error' &&
        /without a token count/.test(e.message),
    );
  });
});
