/**
 * Validation as Bedrock does it: the block schema and the cross-field rules, shared by the
 * emulator (which refuses in Bedrock's words) and the gateway's preflight (which refuses before
 * sending, with the path and the fix). And what Bedrock accepts still passes: a property test of
 * valid requests with every block type, tools, thinking and cache points.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import pino from 'pino';
import { createCredentialCache } from '../../src/aws/credentials.js';
import { checkRequest } from '../../src/check/check-request.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { startGateway, type RunningGateway } from '../../src/server/gateway.js';
import { CREDS, signedRequest } from '../helpers.js';

const MODEL = 'global.anthropic.claude-opus-4-6-v1';
const base = { anthropic_version: 'bedrock-2023-05-31', max_tokens: 2000 };
const user = (content: unknown) => ({ role: 'user', content });

/** Requests Bedrock refuses, what each must be refused with (the JSON path or the model's words), and the fix. */
const REFUSED: Array<{ name: string; body: Record<string, unknown>; says: RegExp; code: string }> = [
  {
    name: 'a block of an unknown type',
    body: { messages: [user([{ type: 'picture', text: 'x' }])] },
    says: /#\/messages\/0\/content\/0\/type: picture is not a valid enum value/,
    code: 'content-invalid',
  },
  {
    name: 'a text block whose text is a number',
    body: { messages: [user([{ type: 'text', text: 42 }])] },
    says: /#\/messages\/0\/content\/0\/text: expected type: String, found: Integer/,
    code: 'content-invalid',
  },
  {
    name: 'an image/bmp',
    body: { messages: [user([{ type: 'image', source: { type: 'base64', media_type: 'image/bmp', data: 'Qk0=' } }])] },
    says: /#\/messages\/0\/content\/0\/source\/media_type: image\/bmp is not a valid enum value/,
    code: 'content-invalid',
  },
  {
    name: 'an image without data',
    body: { messages: [user([{ type: 'image', source: { type: 'base64', media_type: 'image/png' } }])] },
    says: /#\/messages\/0\/content\/0\/source: required key \[data\] not found/,
    code: 'content-invalid',
  },
  {
    name: 'a tool_use in a user turn',
    body: { messages: [user([{ type: 'tool_use', id: 't', name: 'f', input: {} }])] },
    says: /a tool_use block cannot be in a user message/,
    code: 'content-invalid',
  },
  {
    name: 'a server tool block',
    body: {
      messages: [
        user('q'),
        { role: 'assistant', content: [{ type: 'server_tool_use', id: 's', name: 'web_search', input: {} }] },
        user('more'),
      ],
    },
    says: /server_tool_use is not a valid enum value/,
    code: 'content-invalid',
  },
  {
    name: 'a tool_result with no tool_use before it',
    body: { messages: [user([{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'r' }])] },
    says: /messages\.0\.content\.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_1/,
    code: 'tool-result-unpaired',
  },
  {
    name: 'a tool whose name is a number',
    body: { messages: [user('hi')], tools: [{ name: 7, input_schema: { type: 'object' } }] },
    says: /#\/tools\/0\/name: expected type: String, found: Integer/,
    code: 'content-invalid',
  },
  {
    name: 'a tool name with a space',
    body: { messages: [user('hi')], tools: [{ name: 'get weather', input_schema: { type: 'object' } }] },
    says: /#\/tools\/0\/name: string \[get weather\] does not match pattern/,
    code: 'content-invalid',
  },
  {
    name: 'a tool without input_schema',
    body: { messages: [user('hi')], tools: [{ name: 'f' }] },
    says: /#\/tools\/0: required key \[input_schema\] not found/,
    code: 'content-invalid',
  },
  {
    name: 'tool_choice of an unknown type',
    body: {
      messages: [user('hi')],
      tools: [{ name: 'f', input_schema: { type: 'object' } }],
      tool_choice: { type: 'sometimes' },
    },
    says: /#\/tool_choice\/type: sometimes is not a valid enum value/,
    code: 'content-invalid',
  },
  {
    name: 'a thinking budget of 100',
    body: { messages: [user('hi')], thinking: { type: 'enabled', budget_tokens: 100 } },
    says: /thinking\.enabled\.budget_tokens: Input should be greater than or equal to 1024/,
    code: 'thinking-invalid',
  },
  {
    name: 'a thinking budget not under max_tokens',
    body: { max_tokens: 2000, messages: [user('hi')], thinking: { type: 'enabled', budget_tokens: 2000 } },
    says: /`max_tokens` must be greater than `thinking.budget_tokens`/,
    code: 'thinking-invalid',
  },
  {
    name: 'thinking with temperature 0.5',
    body: { messages: [user('hi')], thinking: { type: 'enabled', budget_tokens: 1024 }, temperature: 0.5 },
    says: /`temperature` may only be set to 1 when thinking is enabled/,
    code: 'thinking-invalid',
  },
  {
    name: 'thinking with a forced tool',
    body: {
      messages: [user('hi')],
      thinking: { type: 'enabled', budget_tokens: 1024 },
      tools: [{ name: 'f', input_schema: { type: 'object' } }],
      tool_choice: { type: 'any' },
    },
    says: /Thinking may not be enabled when tool_choice forces tool use/,
    code: 'thinking-invalid',
  },
  {
    name: 'five cache breakpoints',
    body: {
      messages: [
        user([1, 2, 3, 4, 5].map((n) => ({ type: 'text', text: `part ${n}`, cache_control: { type: 'ephemeral' } }))),
      ],
    },
    says: /A maximum of 4 blocks with cache_control may be provided. Found 5/,
    code: 'cache-control-invalid',
  },
  {
    name: 'a 1h cache point after a 5m one',
    body: {
      system: [{ type: 'text', text: 's', cache_control: { type: 'ephemeral' } }],
      messages: [user([{ type: 'text', text: 'm', cache_control: { type: 'ephemeral', ttl: '1h' } }])],
    },
    says: /a ttl='1h' cache_control block must not come after a ttl='5m'/,
    code: 'cache-control-invalid',
  },
  {
    name: 'a metadata.user_id that is a number',
    body: { messages: [user('hi')], metadata: { user_id: 12 } },
    says: /#\/metadata\/user_id: expected type: String, found: Integer/,
    code: 'content-invalid',
  },
  {
    name: 'a cache_control ttl of 2h',
    body: { messages: [user([{ type: 'text', text: 'm', cache_control: { type: 'ephemeral', ttl: '2h' } }])] },
    says: /#\/messages\/0\/content\/0\/cache_control\/ttl: 2h is not a valid enum value/,
    code: 'content-invalid',
  },
];

describe('validation: each rule refuses with the path and the fix', () => {
  for (const c of REFUSED) {
    it(c.name, () => {
      const d = checkRequest({
        format: 'bedrock',
        body: Object.assign({}, base, c.body),
        model: MODEL,
        region: 'us-west-2',
        path: 'invoke',
      });
      const error = d.find((x) => x.severity === 'error');
      assert.ok(error, 'refused');
      assert.equal(error.code, c.code);
      assert.match(error.message, c.says);
      assert.ok(error.fix && error.fix.length > 10, 'with a fix');
      assert.equal(error.bedrock?.exception, 'ValidationException');
    });
  }
});

describe("validation: the emulator refuses in Bedrock's words, the gateway before sending with the fix", () => {
  let emu: RunningEmulator;
  let gw: RunningGateway;
  before(async () => {
    emu = await startEmulator({ port: 0 });
    gw = await startGateway({
      port: 0,
      region: 'us-west-2',
      auth: { kind: 'sigv4', credentials: createCredentialCache(CREDS) },
      endpoint: emu.url,
      retry: { max: 0 },
      logger: pino({ level: 'silent' }),
    });
  });
  after(async () => {
    await gw.close(100);
    await emu.close();
  });

  it('every refused request, on both', async () => {
    for (const c of REFUSED) {
      const direct = await signedRequest(
        emu.url,
        `/model/${encodeURIComponent(MODEL)}/invoke`,
        Object.assign({}, base, c.body),
      );
      assert.equal(direct.status, 400, c.name);
      assert.match(String(direct.headers['x-amzn-errortype']), /^ValidationException/, c.name);
      assert.match(direct.json()['message'] as string, c.says, c.name);
      const before = emu.received.length;
      const viaGateway = await gw.app.request('/v1/messages', {
        body: JSON.stringify(Object.assign({ model: 'claude-opus-4-6', max_tokens: 2000 }, c.body)),
      });
      assert.equal(viaGateway.status, 400, c.name);
      const err = viaGateway.json<{ error: { type: string; message: string } }>().error;
      assert.equal(err.type, 'invalid_request_error', c.name);
      assert.match(err.message, c.says, c.name);
      assert.match(err.message, /Fix: /, c.name);
      assert.equal(emu.received.length, before, `${c.name}: refused before sending`);
    }
  });

  it('"stream": "yes" is refused by the front, not read as false', async () => {
    const r = await gw.app.request('/v1/messages', {
      body: JSON.stringify({ model: 'claude-opus-4-6', max_tokens: 10, stream: 'yes', messages: [user('hi')] }),
    });
    assert.equal(r.status, 400);
    assert.match(r.json<{ error: { message: string } }>().error.message, /stream: Input should be a valid boolean/);
  });
});

// ---- What Bedrock accepts passes ----
const text = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => s.trim().length > 0);
const b64 = fc.uint8Array({ minLength: 1, maxLength: 8 }).map((b) => Buffer.from(b).toString('base64'));
const id = fc.stringMatching(/^toolu_[a-zA-Z0-9]{4,10}$/);
const image = fc.record({
  type: fc.constant('image'),
  source: fc.record({
    type: fc.constant('base64'),
    media_type: fc.constantFrom('image/jpeg', 'image/png', 'image/gif', 'image/webp'),
    data: b64,
  }),
});
const document = fc.oneof(
  fc.record(
    {
      type: fc.constant('document'),
      source: fc.record({ type: fc.constant('base64'), media_type: fc.constant('application/pdf'), data: b64 }),
      title: text,
    },
    { requiredKeys: ['type', 'source'] },
  ),
  fc.record(
    {
      type: fc.constant('document'),
      source: fc.record({ type: fc.constant('text'), media_type: fc.constant('text/plain'), data: text }),
      context: text,
      citations: fc.record({ enabled: fc.boolean() }),
    },
    { requiredKeys: ['type', 'source'] },
  ),
  fc.record({
    type: fc.constant('document'),
    source: fc.record({
      type: fc.constant('content'),
      content: fc.array(
        text.map((t) => ({ type: 'text', text: t })),
        { minLength: 1, maxLength: 2 },
      ),
    }),
  }),
);
const searchResult = fc.record({
  type: fc.constant('search_result'),
  source: text,
  title: text,
  content: fc.array(
    text.map((t) => ({ type: 'text', text: t })),
    { minLength: 1, maxLength: 2 },
  ),
});
const textBlock = text.map((t) => ({ type: 'text', text: t }));
const toolNames = fc.uniqueArray(fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_-]{0,20}$/), { minLength: 1, maxLength: 3 });

const validBody = fc
  .record({
    names: toolNames,
    thinking: fc.boolean(),
    budget: fc.integer({ min: 1024, max: 4000 }),
    turns: fc.array(
      fc.record({
        userExtra: fc.array(fc.oneof(textBlock, image, document, searchResult), { maxLength: 3 }),
        assistant: fc.array(textBlock, { maxLength: 2 }),
        calls: fc.array(id, { maxLength: 2 }),
        redacted: fc.boolean(),
      }),
      { minLength: 1, maxLength: 3 },
    ),
    cacheEvery: fc.integer({ min: 1, max: 6 }),
    ttl: fc.constantFrom(undefined, '1h'),
    choice: fc.constantFrom('auto', 'any', 'tool', 'none', undefined),
    system: fc.option(text, { nil: undefined }),
  })
  .map((r) => {
    const messages: Array<Record<string, unknown>> = [];
    let pending: string[] = [];
    let cachePoints = 0;
    const cache = (b: Record<string, unknown>, i: number): Record<string, unknown> => {
      if (cachePoints < 4 && i % r.cacheEvery === 0) {
        cachePoints++;
        return Object.assign({}, b, {
          cache_control: r.ttl ? { type: 'ephemeral', ttl: r.ttl } : { type: 'ephemeral' },
        });
      }
      return b;
    };
    r.turns.forEach((t, i) => {
      const results = pending.map((tool_use_id, k) => ({
        type: 'tool_result',
        tool_use_id,
        content: k % 2 ? [{ type: 'text', text: 'ok' }] : 'ok',
        ...(k === 1 ? { is_error: true } : {}),
      }));
      messages.push({
        role: 'user',
        content: [...results, ...t.userExtra, { type: 'text', text: `turn ${i}` }].map(cache),
      });
      const assistant: Array<Record<string, unknown>> = [];
      if (r.thinking) assistant.push({ type: 'thinking', thinking: 'considering', signature: 'c2lnbmF0dXJl' });
      if (r.thinking && t.redacted) assistant.push({ type: 'redacted_thinking', data: 'ZW5jcnlwdGVk' });
      assistant.push(...t.assistant);
      pending = [...new Set(t.calls)];
      for (const callId of pending)
        assistant.push({ type: 'tool_use', id: callId, name: r.names[0], input: { q: 'x' } });
      if (!assistant.length) assistant.push({ type: 'text', text: 'ok' });
      messages.push({ role: 'assistant', content: assistant });
    });
    messages.push({
      role: 'user',
      content: [
        ...pending.map((tool_use_id) => ({ type: 'tool_result', tool_use_id, content: 'done' })),
        { type: 'text', text: 'last' },
      ],
    });
    const body: Record<string, unknown> = {
      anthropic_version: 'bedrock-2023-05-31',
      max_tokens: r.budget + 1000,
      messages,
      tools: r.names.map((name) => ({
        name,
        description: 'a tool',
        input_schema: { type: 'object', properties: { q: { type: 'string' } } },
      })),
    };
    if (r.system) body['system'] = [{ type: 'text', text: r.system }];
    if (r.thinking) body['thinking'] = { type: 'enabled', budget_tokens: r.budget };
    const choice = r.thinking && (r.choice === 'any' || r.choice === 'tool') ? 'auto' : r.choice;
    if (choice) body['tool_choice'] = choice === 'tool' ? { type: 'tool', name: r.names[0] } : { type: choice };
    return body;
  });

describe('validation: what Bedrock accepts still passes', () => {
  it('valid requests with every block type, tools, thinking and cache points are not refused', () => {
    fc.assert(
      fc.property(validBody, (body) => {
        const errors = checkRequest({
          format: 'bedrock',
          body,
          model: MODEL,
          region: 'us-west-2',
          path: 'invoke',
        }).filter((d) => d.severity === 'error');
        assert.deepEqual(errors, [], JSON.stringify(body).slice(0, 400));
      }),
      { seed: 20261201, numRuns: 300 },
    );
  });
});

describe('the catalog as Bedrock documents it (model cards, 2026)', () => {
  const check = (model: string, body: Record<string, unknown>) =>
    checkRequest({
      format: 'bedrock',
      body: Object.assign({}, base, body),
      model,
      region: 'us-west-2',
      path: 'invoke',
    });
  it('Opus 4.7 takes adaptive thinking only: enabled with budget_tokens is refused with the fix', () => {
    const refused = check('global.anthropic.claude-opus-4-7', {
      max_tokens: 4000,
      thinking: { type: 'enabled', budget_tokens: 2048 },
      messages: [user('think')],
    }).filter((d) => d.severity === 'error');
    assert.deepEqual(
      refused.map((d) => [d.code, d.location]),
      [['thinking-invalid', 'body.thinking.type']],
    );
    assert.match(
      refused[0]!.message,
      /thinking\.type: "enabled" is not supported for Claude Opus 4\.7; use "adaptive"/,
    );
    assert.match(refused[0]!.fix ?? '', /"type": "adaptive"/);
    assert.deepEqual(
      check('global.anthropic.claude-opus-4-7', { thinking: { type: 'adaptive' }, messages: [user('think')] }).filter(
        (d) => d.severity === 'error',
      ),
      [],
    );
    assert.deepEqual(
      check(MODEL, {
        max_tokens: 4000,
        thinking: { type: 'enabled', budget_tokens: 2048 },
        messages: [user('think')],
      }).filter((d) => d.severity === 'error'),
      [],
      'Opus 4.6 still takes it',
    );
  });
  it('Opus 4.6 and 4.7 have a 1M-token window without the beta; Haiku 4.5 does not', () => {
    const long = { messages: [user('word '.repeat(250_000))] }; // 1.25M characters: about 312K tokens
    for (const model of [MODEL, 'global.anthropic.claude-opus-4-7'])
      assert.deepEqual(
        check(model, long).filter((d) => d.code === 'prompt-too-long'),
        [],
        model,
      );
    assert.equal(
      check('global.anthropic.claude-haiku-4-5-20251001-v1:0', long).filter((d) => d.code === 'prompt-too-long').length,
      1,
    );
  });
});
