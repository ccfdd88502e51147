/**
 * Property tests (fast-check, fixed seed): a Converse request and an OpenAI chat completions request
 * survive the trip to the canonical Anthropic call and back with every field. What the canonical
 * call cannot tell apart is named in each generator (a `json` tool result is its JSON text; a
 * `developer` message is a system one) and tested on its own.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { anthropicToConverse } from '../../src/translate/converse-from-anthropic.js';
import { converseToAnthropic } from '../../src/translate/converse.js';
import { anthropicToOpenAI } from '../../src/translate/openai-from-anthropic.js';
import { openAIToAnthropic } from '../../src/translate/openai.js';

const SEED = Number(process.env['FC_SEED'] ?? 20261201);
const params = { seed: SEED, numRuns: 300 };

const text = fc.string({ minLength: 1, maxLength: 20 });
const b64 = fc.uint8Array({ minLength: 1, maxLength: 12 }).map((b) => Buffer.from(b).toString('base64'));
const id = fc.stringMatching(/^[a-zA-Z0-9_-]{1,16}$/);
const jsonObject = fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), fc.oneof(fc.string(), fc.integer(), fc.boolean()), {
  maxKeys: 3,
});

// ---- Converse ----
const cachePoint = fc.oneof(
  fc.constant({ cachePoint: { type: 'default' } }),
  fc.constantFrom('5m', '1h').map((ttl) => ({ cachePoint: { type: 'default', ttl } })),
);
const image = fc
  .record({ format: fc.constantFrom('png', 'jpeg', 'gif', 'webp'), source: fc.record({ bytes: b64 }) })
  .map((image) => ({ image }));
const document = fc
  .tuple(
    fc.oneof(
      b64.map((bytes) => ({ format: 'pdf', source: { bytes } })),
      text.map((t) => ({ format: 'txt', source: { text: t } })),
      fc
        .array(
          text.map((t) => ({ text: t })),
          { minLength: 1, maxLength: 3 },
        )
        .map((content) => ({ format: 'txt', source: { content } })),
    ),
    text,
    fc.option(text, { nil: undefined }),
    fc.option(
      fc.boolean().map((enabled) => ({ enabled })),
      { nil: undefined },
    ),
  )
  .map(([doc, name, context, citations]) => ({
    document: Object.assign(
      {},
      doc,
      { name },
      context === undefined ? {} : { context },
      citations === undefined ? {} : { citations },
    ),
  }));
const toolUse = fc.record({ toolUseId: id, name: id, input: jsonObject }).map((toolUse) => ({ toolUse }));
const toolResult = fc
  .tuple(
    id,
    fc.array(
      fc.oneof(
        text.map((t) => ({ text: t })),
        image,
        document,
      ),
      { minLength: 1, maxLength: 3 },
    ),
    fc.boolean(),
  )
  .map(([toolUseId, content, error]) => ({
    toolResult: Object.assign({ toolUseId, content }, error ? { status: 'error' } : {}),
  }));
const reasoning = fc.oneof(
  fc.record({ text, signature: text }).map((reasoningText) => ({ reasoningContent: { reasoningText } })),
  text.map((t) => ({ reasoningContent: { redactedContent: Buffer.from(t, 'utf8').toString('base64') } })),
);
/** Blocks, each possibly followed by a cache point. */
const withPoints = (block: fc.Arbitrary<Record<string, unknown>>) =>
  fc
    .array(fc.tuple(block, fc.option(cachePoint, { nil: undefined })), { minLength: 1, maxLength: 4 })
    .map((pairs) => pairs.flatMap(([b, p]) => (p ? [b, p] : [b])));
const userTurn = withPoints(
  fc.oneof(
    text.map((t) => ({ text: t })),
    image,
    document,
    toolResult,
  ),
).map((content) => ({ role: 'user', content }));
const assistantTurn = withPoints(
  fc.oneof(
    text.map((t) => ({ text: t })),
    toolUse,
    reasoning,
  ),
).map((content) => ({ role: 'assistant', content }));
const toolSpec = fc
  .record(
    {
      name: id,
      description: fc.option(text, { nil: undefined }),
      inputSchema: fc.constant({ json: { type: 'object', properties: { q: { type: 'string' } } } }),
    },
    { requiredKeys: ['name', 'inputSchema'] },
  )
  .map((spec) => ({ toolSpec: JSON.parse(JSON.stringify(spec)) as Record<string, unknown> }));
const converseRequest = fc
  .record(
    {
      messages: fc
        .array(fc.tuple(userTurn, assistantTurn), { minLength: 1, maxLength: 3 })
        .map((pairs) => pairs.flat()),
      system: withPoints(text.map((t) => ({ text: t }))),
      inferenceConfig: fc.record(
        {
          maxTokens: fc.integer({ min: 1, max: 64000 }),
          temperature: fc.double({ min: 0, max: 1, noNaN: true }),
          topP: fc.double({ min: 0, max: 1, noNaN: true }),
          stopSequences: fc.array(text, { minLength: 1, maxLength: 2 }),
        },
        { requiredKeys: ['maxTokens'] },
      ),
      toolConfig: fc.record(
        {
          tools: withPoints(toolSpec),
          toolChoice: fc.oneof(
            fc.constant({ auto: {} }),
            fc.constant({ any: {} }),
            id.map((name) => ({ tool: { name } })),
          ),
        },
        { requiredKeys: ['tools'] },
      ),
      additionalModelRequestFields: fc.record(
        {
          top_k: fc.integer({ min: 1, max: 500 }),
          thinking: fc.integer({ min: 1024, max: 8000 }).map((budget_tokens) => ({ type: 'enabled', budget_tokens })),
          anthropic_beta: fc.constant(['context-1m-2025-08-07']),
        },
        { requiredKeys: [] },
      ),
      outputConfig: fc.constant({
        textFormat: {
          type: 'json_schema',
          structure: {
            jsonSchema: {
              schema: JSON.stringify({ type: 'object', properties: { a: { type: 'string' } }, required: ['a'] }),
            },
          },
        },
      }),
    },
    { requiredKeys: ['messages', 'inferenceConfig'] },
  )
  .map((r) =>
    r.additionalModelRequestFields && !Object.keys(r.additionalModelRequestFields).length
      ? Object.assign({}, r, { additionalModelRequestFields: undefined })
      : r,
  )
  .map((r) => JSON.parse(JSON.stringify(r)) as Record<string, unknown>);

describe('round trips: Converse → canonical → Converse', () => {
  it('keeps every field of every block Claude takes', () => {
    fc.assert(
      fc.property(converseRequest, (request) => {
        assert.deepEqual(anthropicToConverse(converseToAnthropic(request, 4096)), request);
      }),
      params,
    );
  });
  it('a json tool result is the text of its JSON, as Bedrock sends it to Claude', () => {
    const canonical = converseToAnthropic(
      {
        messages: [{ role: 'user', content: [{ toolResult: { toolUseId: 't', content: [{ json: { a: [1, 2] } }] } }] }],
        inferenceConfig: { maxTokens: 5 },
      },
      1,
    );
    assert.deepEqual(anthropicToConverse(canonical)['messages'], [
      { role: 'user', content: [{ toolResult: { toolUseId: 't', content: [{ text: '{"a":[1,2]}' }] } }] },
    ]);
  });
});

// ---- OpenAI ----
const dataImage = fc
  .tuple(fc.constantFrom('image/png', 'image/jpeg', 'image/gif', 'image/webp'), b64)
  .map(([type, data]) => ({ type: 'image_url', image_url: { url: `data:${type};base64,${data}` } }));
const filePart = fc
  .tuple(
    fc.oneof(
      b64.map((d) => `data:application/pdf;base64,${d}`),
      text.map((t) => `data:text/plain;base64,${Buffer.from(t, 'utf8').toString('base64')}`),
    ),
    fc.option(text, { nil: undefined }),
  )
  .map(([file_data, filename]) => ({
    type: 'file',
    file: Object.assign({ file_data }, filename === undefined ? {} : { filename }),
  }));
const userContent = fc.oneof(
  text,
  fc.array(
    fc.oneof(
      text.map((t) => ({ type: 'text', text: t })),
      dataImage,
      filePart,
    ),
    { minLength: 1, maxLength: 3 },
  ),
);
const toolCall = fc.tuple(id, id, jsonObject).map(([callId, name, args]) => ({
  id: callId,
  type: 'function',
  function: { name, arguments: JSON.stringify(args) },
}));
/** An assistant turn, and the tool messages that answer its calls. */
const assistantAndTools = fc.oneof(
  text.map((t) => [{ role: 'assistant', content: t }]),
  fc
    .tuple(fc.option(text, { nil: null }), fc.array(toolCall, { minLength: 1, maxLength: 3 }), text)
    .map(([content, calls, result]) => [
      { role: 'assistant', content, tool_calls: calls },
      ...calls.map((c) => ({ role: 'tool', tool_call_id: c.id, content: result })),
    ]),
);
const fn = fc
  .record(
    {
      name: id,
      description: fc.option(text, { nil: undefined }),
      parameters: fc.constant({ type: 'object', properties: { q: { type: 'string' } } }),
    },
    { requiredKeys: ['name', 'parameters'] },
  )
  .map((f) => ({ type: 'function', function: JSON.parse(JSON.stringify(f)) as Record<string, unknown> }));
const openAIRequest = fc
  .record(
    {
      model: fc.constantFrom('claude-haiku-4-5', 'claude-opus-4-6'),
      system: fc.array(text, { maxLength: 2 }),
      turns: fc.array(fc.tuple(userContent, assistantAndTools), { minLength: 1, maxLength: 3 }),
      last: userContent,
      max_completion_tokens: fc.integer({ min: 1, max: 64000 }),
      temperature: fc.double({ min: 0, max: 1, noNaN: true }),
      top_p: fc.double({ min: 0, max: 1, noNaN: true }),
      stop: fc.array(text, { minLength: 1, maxLength: 3 }),
      stream: fc.constant(true),
      tools: fc.tuple(
        fc.array(fn, { minLength: 1, maxLength: 3 }),
        fc.option(
          fc.oneof(
            fc.constantFrom('auto', 'none', 'required'),
            id.map((name) => ({ type: 'function', function: { name } })),
          ),
          { nil: undefined },
        ),
        fc.boolean(),
      ),
      response_format: fc.constant({
        type: 'json_schema',
        json_schema: { name: 'output', schema: { type: 'object', properties: { a: { type: 'string' } } } },
      }),
      user: id,
    },
    { requiredKeys: ['model', 'system', 'turns', 'last', 'max_completion_tokens'] },
  )
  .map((r) => {
    const out: Record<string, unknown> = { model: r.model };
    // Messages: system first (the canonical call has one system prompt), then turns, a user message last.
    // A user message after tool results joins their turn, so it comes back as parts: generate it so.
    const messages: Array<Record<string, unknown>> = r.system.map((content) => ({ role: 'system', content }));
    const user = (content: string | unknown[]) => {
      const afterTools = messages[messages.length - 1]?.['role'] === 'tool';
      messages.push({
        role: 'user',
        content: afterTools && typeof content === 'string' ? [{ type: 'text', text: content }] : content,
      });
    };
    for (const [content, rest] of r.turns) {
      user(content);
      messages.push(...rest);
    }
    user(r.last);
    out['messages'] = messages;
    for (const k of [
      'max_completion_tokens',
      'temperature',
      'top_p',
      'stop',
      'stream',
      'response_format',
      'user',
    ] as const)
      if (r[k] !== undefined) out[k] = r[k];
    if (r.tools) {
      const [tools, choice, serial] = r.tools;
      out['tools'] = tools;
      if (choice !== undefined) {
        out['tool_choice'] = choice;
        if (serial && choice !== 'none') out['parallel_tool_calls'] = false;
      }
    }
    return out;
  });

describe('round trips: OpenAI → canonical → OpenAI', () => {
  it('keeps every field: roles, parts, tool calls and results, options', () => {
    fc.assert(
      fc.property(openAIRequest, (request) => {
        assert.deepEqual(anthropicToOpenAI(openAIToAnthropic(request, { defaultMaxTokens: 4096 })), request);
      }),
      params,
    );
  });
  it('a developer message is a system one; consecutive user messages are one turn; no max_tokens is the default', () => {
    const canonical = openAIToAnthropic(
      {
        model: 'm',
        messages: [
          { role: 'developer', content: 'd' },
          { role: 'user', content: 'a' },
          { role: 'user', content: 'b' },
        ],
      },
      { defaultMaxTokens: 9 },
    );
    assert.deepEqual(canonical['system'], [{ type: 'text', text: 'd' }]);
    assert.deepEqual(canonical['messages'], [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'a' },
          { type: 'text', text: 'b' },
        ],
      },
    ]);
    assert.equal(canonical['max_tokens'], 9);
  });
});
