/**
 * Differential test: for a corpus of varied requests, the Bedrock request our translation makes
 * equals what the official `@anthropic-ai/bedrock-sdk` sends for the same call (captured with its
 * `fetch` option), apart from the differences we make on purpose, which are listed here:
 *
 * 1. `anthropic_version`: the SDK copies its Anthropic API version header (e.g. "2026-10-21") into
 *    the body; we always send Bedrock's documented "bedrock-2023-05-31".
 * 2. Betas: the SDK ignores the `anthropic-beta` header when the body already has `anthropic_beta`;
 *    we merge both (deduplicated).
 * 3. Sanitising (policy "drop"): betas and fields Bedrock rejects are removed (each reported).
 * 4. Path encoding: the SDK leaves `:` raw, we encode it as `%3A` like the AWS SDKs; the decoded
 *    paths are equal.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import AnthropicBedrock from '@anthropic-ai/bedrock-sdk';
import { resolveModel } from '../../src/catalog/resolve-model.js';
import { toBedrockRequest } from '../../src/translate/to-bedrock.js';

type Json = Record<string, unknown>;
interface Captured {
  path: string;
  body: Json;
  headers: Record<string, string>;
}

async function capture(region: string, call: (c: AnthropicBedrock) => Promise<unknown>): Promise<Captured> {
  let captured: Captured | undefined;
  const client = new AnthropicBedrock({
    awsRegion: region,
    awsAccessKey: 'AKIDTEST',
    awsSecretKey: 'test-secret',
    maxRetries: 0,
    fetch: async (url: string | URL | Request, init?: RequestInit) => {
      const u = new URL(String(url));
      captured = {
        path: u.pathname + u.search,
        body: JSON.parse(String(init?.body)) as Json,
        headers: Object.fromEntries(new Headers(init?.headers)),
      };
      return new Response(
        JSON.stringify({
          id: 'msg',
          type: 'message',
          role: 'assistant',
          model: 'm',
          content: [],
          stop_reason: 'end_turn',
          stop_sequence: null,
          usage: { input_tokens: 1, output_tokens: 1 },
        }),
        { headers: { 'content-type': 'application/json' } },
      );
    },
  });
  await call(client).catch(() => undefined);
  assert.ok(captured, 'the SDK sent a request');
  return captured;
}

const user = (content: unknown) => ({ role: 'user', content });
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const weather = {
  name: 'get_weather',
  description: 'Weather',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

interface Case {
  name: string;
  region?: string;
  params: Json;
  beta?: boolean;
  /** What we drop on purpose (difference 3): body keys removed, betas removed. */
  dropped?: { fields?: string[]; betas?: string[]; toolFields?: string[]; tools?: string[] };
}

const CASES: Case[] = [
  {
    name: 'plain text',
    params: { model: 'global.anthropic.claude-opus-4-6-v1', max_tokens: 256, messages: [user('Hello, world')] },
  },
  {
    name: 'system string',
    params: {
      model: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
      max_tokens: 100,
      system: 'Be brief.',
      messages: [user('Hi')],
    },
  },
  {
    name: 'system blocks with cache_control',
    params: {
      model: 'global.anthropic.claude-sonnet-4-6',
      max_tokens: 100,
      system: [{ type: 'text', text: 'Long policy', cache_control: { type: 'ephemeral' } }],
      messages: [user('Hi')],
    },
  },
  {
    name: 'multi-turn',
    params: {
      model: 'global.anthropic.claude-haiku-4-5-20251001-v1:0',
      max_tokens: 50,
      messages: [user('Hi'), { role: 'assistant', content: 'Hello!' }, user('How are you?')],
    },
  },
  {
    name: 'image',
    params: {
      model: 'global.anthropic.claude-opus-4-6-v1',
      max_tokens: 50,
      messages: [
        user([
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
          { type: 'text', text: 'What is this?' },
        ]),
      ],
    },
  },
  {
    name: 'document',
    params: {
      model: 'global.anthropic.claude-opus-4-6-v1',
      max_tokens: 50,
      messages: [
        user([
          { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0xLjQK' } },
          { type: 'text', text: 'Summarise' },
        ]),
      ],
    },
  },
  {
    name: 'tools, auto',
    params: {
      model: 'global.anthropic.claude-sonnet-4-5-20250929-v1:0',
      max_tokens: 200,
      tools: [weather],
      messages: [user('Weather in Paris?')],
    },
  },
  {
    name: 'tool_choice tool',
    params: {
      model: 'global.anthropic.claude-sonnet-4-5-20250929-v1:0',
      max_tokens: 200,
      tools: [weather],
      tool_choice: { type: 'tool', name: 'get_weather' },
      messages: [user('Paris')],
    },
  },
  {
    name: 'tool_choice any',
    params: {
      model: 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0',
      region: 'eu-west-1',
      max_tokens: 200,
      tools: [weather],
      tool_choice: { type: 'any' },
      messages: [user('Paris')],
    },
    region: 'eu-west-1',
  },
  {
    name: 'tool result turn',
    params: {
      model: 'global.anthropic.claude-opus-4-6-v1',
      max_tokens: 200,
      tools: [weather],
      messages: [
        user('Paris?'),
        {
          role: 'assistant',
          content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } }],
        },
        user([{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'Sunny' }]),
      ],
    },
  },
  {
    name: 'thinking enabled',
    params: {
      model: 'global.anthropic.claude-opus-4-6-v1',
      max_tokens: 4000,
      thinking: { type: 'enabled', budget_tokens: 2048 },
      messages: [user('Think')],
    },
  },
  {
    name: 'thinking adaptive with output_config',
    params: {
      model: 'global.anthropic.claude-opus-4-6-v1',
      max_tokens: 4000,
      thinking: { type: 'adaptive' },
      output_config: { effort: 'high' },
      messages: [user('Think')],
    },
  },
  {
    name: 'stop sequences and temperature',
    params: {
      model: 'global.anthropic.claude-haiku-4-5-20251001-v1:0',
      max_tokens: 20,
      temperature: 0.3,
      stop_sequences: ['END'],
      messages: [user('Count')],
    },
  },
  {
    name: 'top_k and top_p',
    params: {
      model: 'us.anthropic.claude-3-7-sonnet-20250219-v1:0',
      max_tokens: 20,
      top_k: 5,
      top_p: 0.9,
      temperature: 0.5,
      messages: [user('x')],
    },
  },
  {
    name: 'metadata',
    params: {
      model: 'global.anthropic.claude-opus-4-6-v1',
      max_tokens: 20,
      metadata: { user_id: 'u-123' },
      messages: [user('x')],
    },
  },
  {
    name: 'stream',
    params: {
      model: 'global.anthropic.claude-opus-4-6-v1',
      max_tokens: 20,
      stream: true,
      messages: [user('stream me')],
    },
  },
  {
    name: 'beta in header (1M context)',
    beta: true,
    params: {
      model: 'global.anthropic.claude-sonnet-4-5-20250929-v1:0',
      max_tokens: 20,
      betas: ['context-1m-2025-08-07'],
      messages: [user('long')],
    },
  },
  {
    name: 'betas in header, two',
    beta: true,
    params: {
      model: 'global.anthropic.claude-opus-4-6-v1',
      max_tokens: 20,
      betas: ['interleaved-thinking-2025-05-14', 'fine-grained-tool-streaming-2025-05-14'],
      messages: [user('x')],
    },
  },
  {
    name: 'application inference profile ARN',
    region: 'us-east-1',
    params: {
      model: 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3',
      max_tokens: 20,
      messages: [user('x')],
    },
  },
  {
    name: 'inference profile ARN',
    region: 'us-east-1',
    params: {
      model: 'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-opus-4-6-v1',
      max_tokens: 20,
      messages: [user('x')],
    },
  },
  {
    name: 'jp profile',
    region: 'ap-northeast-1',
    params: { model: 'jp.anthropic.claude-sonnet-4-5-20250929-v1:0', max_tokens: 20, messages: [user('こんにちは')] },
  },
  {
    name: 'Claude Code style betas and fields (sanitised)',
    beta: true,
    params: {
      model: 'global.anthropic.claude-opus-4-6-v1',
      max_tokens: 32000,
      stream: true,
      betas: [
        'claude-code-20250219',
        'interleaved-thinking-2025-05-14',
        'context-management-2025-06-27',
        'oauth-2025-04-20',
        'prompt-caching-scope-2026-01-05',
      ],
      thinking: { type: 'adaptive' },
      context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] },
      metadata: { user_id: 'x' },
      messages: [user('fix the bug')],
    },
    dropped: { betas: ['claude-code-20250219', 'oauth-2025-04-20', 'prompt-caching-scope-2026-01-05'] },
  },
  {
    name: 'server tools and defer_loading (sanitised)',
    beta: true,
    params: {
      model: 'global.anthropic.claude-opus-4-6-v1',
      max_tokens: 100,
      betas: ['web-search-2025-03-05'],
      tools: [
        { type: 'web_search_20250305', name: 'web_search', max_uses: 2 },
        { ...weather, defer_loading: true },
      ],
      messages: [user('search')],
    },
    dropped: { betas: ['web-search-2025-03-05'], tools: ['web_search'], toolFields: ['defer_loading'] },
  },
  {
    name: 'temperature with top_p on Sonnet 4.5 (sanitised)',
    params: {
      model: 'global.anthropic.claude-sonnet-4-5-20250929-v1:0',
      max_tokens: 20,
      temperature: 0.5,
      top_p: 0.9,
      messages: [user('x')],
    },
    dropped: { fields: ['top_p'] },
  },
];

describe('differential: our translation vs @anthropic-ai/bedrock-sdk', () => {
  it(`covers at least 20 varied requests (${CASES.length})`, () => assert.ok(CASES.length >= 20));
  for (const c of CASES) {
    it(c.name, async () => {
      const region = c.region ?? 'us-west-2';
      const { region: _r, ...params } = c.params;
      const sdk = await capture(region, (client) =>
        c.beta ? client.beta.messages.create(params as never) : client.messages.create(params as never),
      );
      const resolved = resolveModel(String(params['model']), { region });
      const headers: Record<string, string> = {};
      if (sdk.headers['anthropic-beta']) headers['anthropic-beta'] = sdk.headers['anthropic-beta'];
      const ours = toBedrockRequest(
        { path: c.beta ? '/v1/messages?beta=true' : '/v1/messages', headers, body: params },
        { modelId: resolved.modelId, model: resolved.model },
      );

      // Difference 4: the same path once decoded.
      assert.equal(decodeURIComponent(ours.path), decodeURIComponent(sdk.path));
      assert.ok(!sdk.path.includes('beta=true'));
      // Difference 1: anthropic_version.
      assert.equal(ours.body['anthropic_version'], 'bedrock-2023-05-31');
      const expected: Json = { ...sdk.body, anthropic_version: 'bedrock-2023-05-31' };
      // Difference 3: what we drop on purpose, and nothing else.
      const d = c.dropped ?? {};
      for (const f of d.fields ?? []) delete expected[f];
      if (Array.isArray(expected['anthropic_beta'])) {
        const kept = (expected['anthropic_beta'] as string[]).filter((b) => !(d.betas ?? []).includes(b));
        if (kept.length) expected['anthropic_beta'] = kept;
        else delete expected['anthropic_beta'];
      }
      if (Array.isArray(expected['tools'])) {
        expected['tools'] = (expected['tools'] as Json[])
          .filter((t) => !(d.tools ?? []).includes(String(t['name'])))
          .map((t) => Object.fromEntries(Object.entries(t).filter(([k]) => !(d.toolFields ?? []).includes(k))));
      }
      assert.deepEqual(ours.body, expected);
      const removed = ours.removals.map((r) => r.name.replace(/^tools\[[^\]]+\]\./, ''));
      assert.deepEqual(
        removed.sort(),
        [...(d.fields ?? []), ...(d.betas ?? []), ...(d.tools ?? []), ...(d.toolFields ?? [])].sort(),
      );
    });
  }
});
