// The OpenAI Responses API front through the `openai` SDK on the emulator: plain and streamed answers, a tool round
// trip (namespaced tools flattened and named back), structured output, reasoning carried back as signed thinking,
// what the front refuses (hosted tools, previous_response_id) in OpenAI's shape, and the routes it does not keep.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import type { RunningGateway } from '../../src/server/gateway.js';
import { gatewayOn } from '../helpers.js';
import type { UsageRecord } from '../../src/control/usage-record.js';
import { ledgerRowOf } from '../../src/control/ledger-columns.js';

const HAIKU = 'claude-haiku-4-5';
let emu: RunningEmulator;
let gw: RunningGateway;
const records: UsageRecord[] = [];
const openai = () => new OpenAI({ apiKey: 'unused', baseURL: `${gw.url}/v1`, maxRetries: 0 });
const sentBody = () => emu.received.at(-1)!.body as Record<string, unknown>;

before(async () => {
  emu = await startEmulator({ port: 0 });
  gw = await gatewayOn(emu.url, { sinks: [{ record: (u) => void records.push(u) }] });
});
after(async () => {
  await gw.close(100);
  await emu.close();
});

describe('the Responses API front (openai SDK)', () => {
  it('create: input and instructions to Claude, a response object back with output_text and usage', async () => {
    const r = await openai().responses.create({
      model: HAIKU,
      instructions: 'Be brief.',
      input: [
        { role: 'developer', content: 'No jokes.' },
        { role: 'user', content: [{ type: 'input_text', text: 'hello responses' }] },
      ],
      max_output_tokens: 60,
      temperature: 0.2,
      metadata: { ticket: 'T-1' },
      prompt_cache_key: 'session-42',
    });
    assert.equal(r.object, 'response');
    assert.match(r.id, /^resp_/);
    assert.equal(r.status, 'completed');
    assert.equal(r.output_text, 'hello responses');
    const message = r.output[0] as OpenAI.Responses.ResponseOutputMessage;
    assert.deepEqual([message.type, message.role, message.content[0]!.type], ['message', 'assistant', 'output_text']);
    assert.ok(r.usage!.input_tokens > 0 && r.usage!.output_tokens > 0);
    assert.equal(r.usage!.total_tokens, r.usage!.input_tokens + r.usage!.output_tokens);
    const sent = sentBody();
    assert.deepEqual(sent['system'], [
      { type: 'text', text: 'Be brief.' },
      { type: 'text', text: 'No jokes.' },
    ]);
    assert.deepEqual([sent['max_tokens'], sent['temperature']], [60, 0.2]);
    assert.equal(sent['metadata'], undefined, 'tags are not sent to Bedrock');
    const row = ledgerRowOf(records.find((u) => u.front === 'responses')!);
    assert.deepEqual(JSON.parse(row.clientMetadata!), { metadata: { ticket: 'T-1' }, prompt_cache_key: 'session-42' });
  });

  it('streams: created, the output item and part, text deltas with sequence numbers, completed', async () => {
    const stream = await openai().responses.create({ model: HAIKU, input: 'streamed responses', stream: true });
    const types: string[] = [];
    const seqs: number[] = [];
    let text = '';
    let done: OpenAI.Responses.Response | undefined;
    for await (const e of stream) {
      types.push(e.type);
      seqs.push(e.sequence_number);
      if (e.type === 'response.output_text.delta') text += e.delta;
      if (e.type === 'response.completed') done = e.response;
    }
    assert.equal(text, 'streamed responses');
    assert.deepEqual(types.slice(0, 4), [
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
    ]);
    assert.deepEqual(types.slice(-4), [
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => i),
    );
    const message = done!.output[0] as OpenAI.Responses.ResponseOutputMessage;
    assert.equal((message.content[0] as OpenAI.Responses.ResponseOutputText).text, 'streamed responses');
    assert.ok(done!.usage!.output_tokens > 0);
  });

  it('a tool round trip: a namespaced function flattened for Claude and named back, its output returned', async () => {
    const tools = [
      {
        type: 'namespace',
        name: 'dict',
        description: 'A dictionary',
        tools: [
          {
            type: 'function',
            name: 'lookup',
            description: 'Looks a word up',
            parameters: { type: 'object', properties: { word: { type: 'string' } }, required: ['word'] },
          },
        ],
      },
    ] as unknown as OpenAI.Responses.Tool[];
    const r1 = await openai().responses.create({
      model: HAIKU,
      input: 'What is a gateway?',
      tools,
      tool_choice: 'required',
    });
    const call = r1.output.find((o) => o.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall & {
      namespace?: string;
    };
    assert.deepEqual([call.name, call.namespace], ['lookup', 'dict']);
    assert.equal(typeof JSON.parse(call.arguments).word, 'string');
    assert.deepEqual(
      (sentBody()['tools'] as Array<{ name: string }>).map((t) => t.name),
      ['dict__lookup'],
    );
    const r2 = await openai().responses.create({
      model: HAIKU,
      input: [
        { role: 'user', content: 'What is a gateway?' },
        call,
        { type: 'function_call_output', call_id: call.call_id, output: 'a server between clients and models' },
      ],
      tools,
    });
    assert.equal(r2.status, 'completed');
    const messages = sentBody()['messages'] as Array<{ role: string; content: Array<Record<string, unknown>> }>;
    assert.deepEqual(
      messages.map((m) => m.role),
      ['user', 'assistant', 'user'],
    );
    assert.deepEqual(
      [messages[1]!.content[0]!['type'], messages[1]!.content[0]!['name']],
      ['tool_use', 'dict__lookup'],
    );
    assert.deepEqual(messages[2]!.content[0], {
      type: 'tool_result',
      tool_use_id: call.call_id,
      content: 'a server between clients and models',
    });
  });

  it('text.format json_schema becomes structured output; the answer parses', async () => {
    const r = await openai().responses.create({
      model: HAIKU,
      input: 'a city',
      text: {
        format: {
          type: 'json_schema',
          name: 'city',
          schema: {
            type: 'object',
            properties: { name: { type: 'string' } },
            required: ['name'],
            additionalProperties: false,
          },
        },
      },
    });
    assert.equal(typeof JSON.parse(r.output_text).name, 'string');
    assert.deepEqual((sentBody()['output_config'] as { format: { type: string } }).format.type, 'json_schema');
  });

  it("reasoning: Claude's signed thinking as an encrypted reasoning item, restored when sent back", async () => {
    const r = await openai().responses.create({
      model: HAIKU,
      input: 'think first',
      reasoning: { effort: 'low', summary: 'auto' },
      include: ['reasoning.encrypted_content'],
      max_output_tokens: 3000,
    });
    const reasoning = r.output.find((o) => o.type === 'reasoning') as OpenAI.Responses.ResponseReasoningItem;
    assert.ok(reasoning?.encrypted_content, JSON.stringify(r.output));
    assert.ok(reasoning.summary.length === 1 && reasoning.summary[0]!.text.length > 0);
    assert.deepEqual(sentBody()['thinking'], { type: 'enabled', budget_tokens: 1024 });
    const tools: OpenAI.Responses.Tool[] = [
      { type: 'function', name: 'noop', parameters: { type: 'object', properties: {} }, strict: false },
    ];
    await openai().responses.create({
      model: HAIKU,
      input: [
        { role: 'user', content: 'think first' },
        reasoning,
        { type: 'function_call', call_id: 'toolu_1', name: 'noop', arguments: '{}' },
        { type: 'function_call_output', call_id: 'toolu_1', output: 'done' },
      ],
      tools,
      reasoning: { effort: 'low' },
      max_output_tokens: 3000,
    });
    const assistant = (sentBody()['messages'] as Array<{ role: string; content: Array<{ type: string }> }>)[1]!;
    assert.deepEqual(
      assistant.content.map((b) => b.type),
      ['thinking', 'tool_use'],
      'the thinking goes back before its tool use',
    );
  });

  it("refuses in OpenAI's shape what it cannot do: hosted tools, previous_response_id; drops a disabled web search", async () => {
    await assert.rejects(
      openai().responses.create({
        model: HAIKU,
        input: 'x',
        tools: [{ type: 'file_search', vector_store_ids: ['vs_1'] }],
      }),
      (err: unknown) =>
        err instanceof OpenAI.BadRequestError &&
        /hosted tool 'file_search'/.test(err.message) &&
        (err.error as { param?: string }).param === 'tools[0].type',
    );
    await assert.rejects(
      openai().responses.create({ model: HAIKU, input: 'x', previous_response_id: 'resp_123' }),
      (err: unknown) => err instanceof OpenAI.BadRequestError && /does not keep responses/.test(err.message),
    );
    const r = await openai().responses.create({
      model: HAIKU,
      input: 'no web',
      tools: [{ type: 'web_search', external_web_access: false } as unknown as OpenAI.Responses.Tool],
    });
    assert.equal(r.output_text, 'no web');
    assert.equal(sentBody()['tools'], undefined);
    await assert.rejects(
      openai().responses.retrieve('resp_123'),
      (err: unknown) => err instanceof OpenAI.NotFoundError && /does not keep responses/.test(err.message),
    );
    await assert.rejects(
      openai().embeddings.create({ model: 'text-embedding-3-small', input: 'x' }),
      (err: unknown) => err instanceof OpenAI.NotFoundError && /does not serve POST \/v1\/embeddings/.test(err.message),
      "an OpenAI-only path: 404 in OpenAI's shape",
    );
    // OpenAI's bounds on metadata, on both OpenAI fronts: nothing unbounded reaches the ledger, the echo or the store.
    await assert.rejects(
      openai().responses.create({ model: HAIKU, input: 'x', metadata: { a: 'x'.repeat(1_000_000) } }),
      (err: unknown) =>
        err instanceof OpenAI.BadRequestError &&
        /string too long \(1000000\); at most 512/.test(err.message) &&
        (err.error as { param?: string }).param === 'metadata.a',
    );
    const many = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
    await assert.rejects(
      openai().chat.completions.create({ model: HAIKU, messages: [{ role: 'user', content: 'x' }], metadata: many }),
      (err: unknown) => err instanceof OpenAI.BadRequestError && /17 pairs; at most 16/.test(err.message),
    );
    await assert.rejects(
      openai().responses.create({ model: HAIKU, input: 'x', bogus: 1 } as never),
      (err: unknown) =>
        err instanceof OpenAI.BadRequestError && /Unrecognized request argument supplied: bogus/.test(err.message),
    );
  });
});
