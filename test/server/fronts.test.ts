import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { AnthropicBedrockMantle } from '@anthropic-ai/bedrock-sdk';
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  type ContentBlock,
  type Message,
} from '@aws-sdk/client-bedrock-runtime';
import OpenAI from 'openai';
import pino from 'pino';
import { createCredentialCache } from '../../src/aws/credentials.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { startGateway, type RunningGateway } from '../../src/server/gateway.js';
import { CREDS, tempHome } from '../helpers.js';

/**
 * The Converse, native-Messages and OpenAI fronts, tried with the clients people use (the AWS SDK,
 * AnthropicBedrockMantle, the openai SDK), through the gateway, on the emulator, with a key of the
 * control plane: its limits, and the ledger, hold on each front as on /v1/messages.
 */

const ADMIN = 'admin-key-for-fronts-0123456789abcdef';
let emu: RunningEmulator;
let gw: RunningGateway;
let key: string;
let limitedKey: string;
const HAIKU = 'claude-haiku-4-5';
const SONNET_US = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
// A one-pixel PNG and a tiny PDF, as bytes.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);
const PDF = Buffer.from(
  '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
);

async function admin(path: string, body?: unknown) {
  const res = await gw.app.request(path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return res.json<Record<string, unknown>>();
}

before(async () => {
  emu = await startEmulator({ port: 0 });
  gw = await startGateway({
    port: 0,
    region: 'us-west-2',
    auth: { kind: 'sigv4', credentials: createCredentialCache(CREDS) },
    endpoint: emu.url,
    dataDir: join(tempHome(), 'fronts'),
    adminKey: ADMIN,
    retry: { max: 0 },
    logger: pino({ level: 'silent' }),
  });
  key = (await admin('/admin/keys', { name: 'fronts' }))['key'] as string;
  limitedKey = (await admin('/admin/keys', { name: 'fronts-limited', limits: { rpm: 1 } }))['key'] as string;
});
after(async () => {
  await gw.close(100);
  await emu.close();
});

const lastReceived = () => emu.received[emu.received.length - 1]!;
const sentBody = () => lastReceived().body as Record<string, unknown>;

describe('Converse front (@aws-sdk/client-bedrock-runtime)', () => {
  const aws = () =>
    new BedrockRuntimeClient({
      region: 'us-west-2',
      endpoint: gw.url,
      token: { token: key },
      authSchemePreference: ['httpBearerAuth'],
      maxAttempts: 1,
    });

  it('Converse with an image, a document, a cache point and a tool round trip', async () => {
    const client = aws();
    try {
      const tools = {
        tools: [
          {
            toolSpec: {
              name: 'get_weather',
              description: 'The weather in a city',
              inputSchema: { json: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
            },
          },
          { cachePoint: { type: 'default' as const, ttl: '1h' as const } },
        ],
      };
      const first: Message = {
        role: 'user',
        content: [
          { image: { format: 'png', source: { bytes: PNG } } },
          { document: { format: 'pdf', name: 'Report', source: { bytes: PDF } } },
          { cachePoint: { type: 'default', ttl: '1h' } } as ContentBlock,
          { text: 'What is the weather in Paris?' },
        ],
      };
      const r1 = await client.send(
        new ConverseCommand({
          modelId: SONNET_US,
          system: [{ text: 'You are brief.' }, { cachePoint: { type: 'default', ttl: '1h' } }],
          messages: [first],
          inferenceConfig: { maxTokens: 200, temperature: 0.5 },
          toolConfig: Object.assign({ toolChoice: { tool: { name: 'get_weather' } } }, tools),
        }),
      );
      assert.equal(r1.stopReason, 'tool_use');
      const use = r1.output?.message?.content?.[0]?.toolUse;
      assert.equal(use?.name, 'get_weather');
      assert.deepEqual(use?.input, { city: 'example' });
      const u = r1.usage!;
      assert.ok(u.inputTokens! > 0 && u.cacheWriteInputTokens! > 0, JSON.stringify(u));
      assert.equal(
        u.totalTokens,
        u.inputTokens! + u.outputTokens! + u.cacheWriteInputTokens! + (u.cacheReadInputTokens ?? 0),
      );
      // What Bedrock received: the blocks as the Messages API has them, nothing turned into text.
      const sent = sentBody();
      assert.equal(lastReceived().operation, 'invoke');
      const content = (sent['messages'] as Array<{ content: Array<Record<string, unknown>> }>)[0]!.content;
      assert.deepEqual(content[0], {
        type: 'image',
        source: { type: 'base64', media_type: 'image/png', data: PNG.toString('base64') },
      });
      assert.deepEqual(content[1], {
        type: 'document',
        source: { type: 'base64', media_type: 'application/pdf', data: PDF.toString('base64') },
        title: 'Report',
        cache_control: { type: 'ephemeral', ttl: '1h' },
      });
      assert.deepEqual(sent['system'], [
        { type: 'text', text: 'You are brief.', cache_control: { type: 'ephemeral', ttl: '1h' } },
      ]);
      assert.deepEqual((sent['tools'] as Array<Record<string, unknown>>)[0]!['cache_control'], {
        type: 'ephemeral',
        ttl: '1h',
      });
      assert.equal(sent['temperature'], 0.5);

      const r2 = await client.send(
        new ConverseCommand({
          modelId: SONNET_US,
          messages: [
            first,
            r1.output!.message!,
            {
              role: 'user',
              content: [
                {
                  toolResult: {
                    toolUseId: use!.toolUseId!,
                    content: [{ json: { temperature: 21 } }, { text: 'sunny' }],
                    status: 'success',
                  },
                },
              ],
            },
          ],
          inferenceConfig: { maxTokens: 200 },
          toolConfig: tools,
          additionalModelResponseFieldPaths: ['/stop_sequence'],
        }),
      );
      assert.equal(r2.stopReason, 'end_turn');
      assert.equal(r2.output?.message?.content?.[0]?.text, 'sunny');
      assert.deepEqual(r2.additionalModelResponseFields, { stop_sequence: null });
      const result = (sentBody()['messages'] as Array<{ content: Array<Record<string, unknown>> }>)[2]!.content[0]!;
      assert.deepEqual(result, {
        type: 'tool_result',
        tool_use_id: use!.toolUseId,
        content: [
          { type: 'text', text: '{"temperature":21}' },
          { type: 'text', text: 'sunny' },
        ],
      });
    } finally {
      client.destroy();
    }
  });

  it('ConverseStream: messageStart, deltas, messageStop and metadata with usage; thinking as reasoning content', async () => {
    const client = aws();
    try {
      const r = await client.send(
        new ConverseStreamCommand({
          modelId: SONNET_US,
          messages: [{ role: 'user', content: [{ text: 'stream through converse' }] }],
          inferenceConfig: { maxTokens: 3000 },
          additionalModelRequestFields: { thinking: { type: 'enabled', budget_tokens: 1024 } },
        }),
      );
      const kinds: string[] = [];
      let text = '';
      let reasoning = '';
      let signature = '';
      let usage: { inputTokens?: number | undefined; outputTokens?: number | undefined } | undefined;
      for await (const e of r.stream!) {
        const kind = Object.keys(e).find((k) => (e as unknown as Record<string, unknown>)[k] !== undefined)!;
        if (kinds[kinds.length - 1] !== kind) kinds.push(kind);
        text += e.contentBlockDelta?.delta?.text ?? '';
        reasoning += e.contentBlockDelta?.delta?.reasoningContent?.text ?? '';
        signature += e.contentBlockDelta?.delta?.reasoningContent?.signature ?? '';
        if (e.metadata) usage = e.metadata.usage;
      }
      assert.equal(text, 'stream through converse');
      assert.ok(reasoning.length > 0 && signature.length > 0);
      assert.deepEqual(
        kinds.filter((k) => k !== 'contentBlockDelta' && k !== 'contentBlockStop'),
        ['messageStart', 'messageStop', 'metadata'],
      );
      assert.ok((usage?.inputTokens ?? 0) > 0 && (usage?.outputTokens ?? 0) > 0);
      assert.deepEqual(sentBody()['thinking'], { type: 'enabled', budget_tokens: 1024 });
      assert.equal(lastReceived().operation, 'invoke-with-response-stream');
    } finally {
      client.destroy();
    }
  });

  it("refuses what the Messages API has no equivalent for, in Bedrock's shape, and a key it does not know", async () => {
    const client = aws();
    try {
      await assert.rejects(
        client.send(
          new ConverseCommand({
            modelId: SONNET_US,
            messages: [{ role: 'user', content: [{ text: 'x' }] }],
            guardrailConfig: { guardrailIdentifier: 'g', guardrailVersion: '1' },
          }),
        ),
        (e: Error) => e.name === 'ValidationException' && /guardrailConfig is not supported/.test(e.message),
      );
      await assert.rejects(
        client.send(
          new ConverseCommand({
            modelId: SONNET_US,
            messages: [
              { role: 'user', content: [{ document: { format: 'docx', name: 'd', source: { bytes: PDF } } }] },
            ],
          }),
        ),
        (e: Error) => e.name === 'ValidationException' && /docx document/.test(e.message),
      );
    } finally {
      client.destroy();
    }
    const stranger = new BedrockRuntimeClient({
      region: 'us-west-2',
      endpoint: gw.url,
      token: { token: 'not-a-key' },
      authSchemePreference: ['httpBearerAuth'],
      maxAttempts: 1,
    });
    try {
      await assert.rejects(
        stranger.send(
          new ConverseCommand({ modelId: SONNET_US, messages: [{ role: 'user', content: [{ text: 'x' }] }] }),
        ),
        (e: { $metadata?: { httpStatusCode?: number } }) =>
          e.$metadata?.httpStatusCode === 401 || e.$metadata?.httpStatusCode === 403,
      );
    } finally {
      stranger.destroy();
    }
  });
});

describe('native Messages front (AnthropicBedrockMantle)', () => {
  const mantle = () =>
    new AnthropicBedrockMantle({ apiKey: key, baseURL: `${gw.url}/anthropic`, awsRegion: 'us-west-2', maxRetries: 0 });

  it('creates and streams, with betas as anthropic-beta', async () => {
    const client = mantle();
    const r = await client.messages.create({
      model: HAIKU,
      max_tokens: 50,
      messages: [{ role: 'user', content: 'hello mantle' }],
    });
    assert.equal((r.content[0] as { text: string }).text, 'hello mantle');
    const stream = client.messages.stream(
      { model: HAIKU, max_tokens: 50, messages: [{ role: 'user', content: 'streamed mantle' }] },
      { headers: { 'anthropic-beta': 'context-1m-2025-08-07' } },
    );
    const final = await stream.finalMessage();
    assert.equal((final.content[0] as { text: string }).text, 'streamed mantle');
    assert.ok(final.usage.output_tokens > 0);
  });

  it('answers errors in the Anthropic envelope', async () => {
    const client = mantle();
    await assert.rejects(
      client.messages.create({
        model: 'claude-nonexistent-9',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'x' }],
      }),
      (e: { status?: number }) => e.status === 404 || e.status === 400,
    );
  });
});

describe('OpenAI chat completions front (openai SDK)', () => {
  const openai = (apiKey = key) => new OpenAI({ apiKey, baseURL: `${gw.url}/v1`, maxRetries: 0 });

  it('create: text, system and developer messages, usage', async () => {
    const r = await openai().chat.completions.create({
      model: HAIKU,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'developer', content: 'No jokes.' },
        { role: 'user', content: 'hello openai' },
      ],
      max_completion_tokens: 60,
      temperature: 0.2,
      stop: ['ZZZ'],
    });
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.model, HAIKU);
    assert.equal(r.choices[0]!.message.content, 'hello openai');
    assert.equal(r.choices[0]!.finish_reason, 'stop');
    assert.ok(
      r.usage!.prompt_tokens > 0 && r.usage!.total_tokens === r.usage!.prompt_tokens + r.usage!.completion_tokens,
    );
    assert.equal(r.usage!.prompt_tokens_details?.cached_tokens, 0);
    const sent = sentBody();
    assert.deepEqual(sent['system'], [
      { type: 'text', text: 'Be brief.' },
      { type: 'text', text: 'No jokes.' },
    ]);
    assert.deepEqual(sent['stop_sequences'], ['ZZZ']);
    assert.equal(sent['max_tokens'], 60);
  });

  it('stream with include_usage: content deltas, finish_reason, then a usage chunk with no choices', async () => {
    const stream = await openai().chat.completions.create({
      model: HAIKU,
      messages: [{ role: 'user', content: 'streaming from openai' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined | null;
    let last: OpenAI.ChatCompletionChunk | undefined;
    for await (const c of stream) {
      text += c.choices[0]?.delta.content ?? '';
      finish = c.choices[0]?.finish_reason ?? finish;
      if (c.usage) usage = c.usage;
      last = c;
    }
    assert.equal(text, 'streaming from openai');
    assert.equal(finish, 'stop');
    assert.deepEqual(last?.choices, []);
    assert.ok((usage?.completion_tokens ?? 0) > 0);
  });

  it('a tool round trip, streamed tool-call arguments with their index', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: 'function',
        function: {
          name: 'lookup',
          description: 'Looks a word up',
          parameters: { type: 'object', properties: { word: { type: 'string' } }, required: ['word'] },
        },
      },
    ];
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'look up "gateway"' }];
    const r1 = await openai().chat.completions.create({ model: HAIKU, messages, tools, tool_choice: 'required' });
    assert.equal(r1.choices[0]!.finish_reason, 'tool_calls');
    const call = r1.choices[0]!.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
    assert.equal(call.function.name, 'lookup');
    assert.deepEqual(JSON.parse(call.function.arguments), { word: 'example' });
    assert.deepEqual(sentBody()['tool_choice'], { type: 'any' });

    const s = await openai().chat.completions.create({
      model: HAIKU,
      messages,
      tools,
      tool_choice: { type: 'function', function: { name: 'lookup' } },
      stream: true,
    });
    let args = '';
    const indexes = new Set<number>();
    for await (const c of s)
      for (const t of c.choices[0]?.delta.tool_calls ?? []) {
        indexes.add(t.index);
        args += t.function?.arguments ?? '';
      }
    assert.deepEqual([...indexes], [0]);
    assert.deepEqual(JSON.parse(args), { word: 'example' });

    const r2 = await openai().chat.completions.create({
      model: HAIKU,
      messages: [
        ...messages,
        r1.choices[0]!.message,
        { role: 'tool', tool_call_id: call.id, content: 'a server between clients and models' },
      ],
      tools,
    });
    assert.equal(r2.choices[0]!.message.content, 'a server between clients and models');
    const turns = sentBody()['messages'] as Array<{ role: string; content: Array<Record<string, unknown>> }>;
    assert.deepEqual(
      turns.map((t) => t.role),
      ['user', 'assistant', 'user'],
    );
    assert.deepEqual(turns[2]!.content[0], {
      type: 'tool_result',
      tool_use_id: call.id,
      content: 'a server between clients and models',
    });
  });

  it('json_schema output: JSON that satisfies the schema', async () => {
    const schema = {
      type: 'object',
      properties: { name: { type: 'string' }, count: { type: 'integer', minimum: 3 } },
      required: ['name', 'count'],
      additionalProperties: false,
    };
    const r = await openai().chat.completions.create({
      model: HAIKU,
      messages: [{ role: 'user', content: 'give me a thing' }],
      response_format: { type: 'json_schema', json_schema: { name: 'thing', schema } },
    });
    assert.deepEqual(JSON.parse(r.choices[0]!.message.content!), { name: 'example', count: 3 });
    assert.deepEqual(sentBody()['output_config'], { format: { type: 'json_schema', schema } });
  });

  it('an image as a data URL; a remote image refused unless configured', async () => {
    const url = `data:image/png;base64,${PNG.toString('base64')}`;
    await openai().chat.completions.create({
      model: HAIKU,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is this' },
            { type: 'image_url', image_url: { url } },
          ],
        },
      ],
    });
    assert.deepEqual((sentBody()['messages'] as Array<{ content: unknown[] }>)[0]!.content[1], {
      type: 'image',
      source: { type: 'base64', media_type: 'image/png', data: PNG.toString('base64') },
    });
    await assert.rejects(
      openai().chat.completions.create({
        model: HAIKU,
        messages: [
          { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] },
        ],
      }),
      (e: InstanceType<typeof OpenAI.BadRequestError>) =>
        e.status === 400 &&
        /does not fetch remote images/.test(e.message) &&
        e.param === 'messages[0].content[0].image_url.url',
    );
  });

  it("says why for what it cannot honour, in OpenAI's error shape; keys and limits hold", async () => {
    await assert.rejects(
      openai().chat.completions.create({ model: HAIKU, n: 2, messages: [{ role: 'user', content: 'x' }] }),
      (e: InstanceType<typeof OpenAI.BadRequestError>) =>
        e.status === 400 &&
        /n > 1 is not supported/.test(e.message) &&
        e.type === 'invalid_request_error' &&
        e.param === 'n',
    );
    await assert.rejects(
      openai().chat.completions.create({ model: HAIKU, logprobs: true, messages: [{ role: 'user', content: 'x' }] }),
      (e: InstanceType<typeof OpenAI.BadRequestError>) => e.status === 400 && /logprobs/.test(e.message),
    );
    await assert.rejects(
      openai('wrong').chat.completions.create({ model: HAIKU, messages: [{ role: 'user', content: 'x' }] }),
      (e: InstanceType<typeof OpenAI.AuthenticationError>) => e.status === 401 && e.code === 'invalid_api_key',
    );
    await assert.rejects(
      openai().chat.completions.create({ model: 'claude-nonexistent-9', messages: [{ role: 'user', content: 'x' }] }),
      (e: InstanceType<typeof OpenAI.APIError>) => e.status === 404 || e.status === 400,
    );
    await openai(limitedKey).chat.completions.create({ model: HAIKU, messages: [{ role: 'user', content: 'one' }] });
    await assert.rejects(
      openai(limitedKey).chat.completions.create({ model: HAIKU, messages: [{ role: 'user', content: 'two' }] }),
      (e: InstanceType<typeof OpenAI.RateLimitError>) => e.status === 429 && e.type === 'rate_limit_error',
    );
  });

  it('GET /v1/models is one list both SDKs read', async () => {
    const viaOpenAI = [];
    for await (const m of openai().models.list()) viaOpenAI.push(m);
    const viaAnthropic = await new Anthropic({ apiKey: key, baseURL: gw.url, maxRetries: 0 }).models.list();
    assert.ok(
      viaOpenAI.some(
        (m) => m.id === HAIKU && m.object === 'model' && m.owned_by === 'anthropic' && typeof m.created === 'number',
      ),
    );
    assert.deepEqual(
      viaOpenAI.map((m) => m.id),
      viaAnthropic.data.map((m) => m.id),
    );
  });
});

describe('the ledger, on every front', () => {
  it('records each answered request with its front and tokens', async () => {
    // The ledger is written in batches: wait for it (bounded).
    let rows: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 50; i++) {
      rows = (await admin('/admin/requests?key=fronts&limit=200'))['data'] as Array<Record<string, unknown>>;
      if (
        ['converse', 'mantle', 'openai'].every(
          (f) => rows.filter((r) => r['front'] === f && r['status'] === 200).length >= 2,
        )
      )
        break;
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const front of ['converse', 'mantle', 'openai']) {
      const ok = rows.filter((r) => r['front'] === front && r['status'] === 200);
      assert.ok(ok.length >= 2, `${front}: ${ok.length} rows`);
      assert.ok(
        ok.every(
          (r) => (r['inputTokens'] as number) > 0 && (r['outputTokens'] as number) > 0 && (r['costUsd'] as number) > 0,
        ),
        front,
      );
    }
  });
});

describe('a model Bedrock serves only through its native Messages path', () => {
  it('is routed there by the catalog, by its bare ID, from every front', async () => {
    const g = await startGateway({
      port: 0,
      region: 'us-west-2',
      auth: { kind: 'sigv4', credentials: createCredentialCache(CREDS) },
      endpoint: emu.url,
      models: { models: [{ name: 'claude-opus-4-8', backend: 'mantle' }] },
      retry: { max: 0 },
      logger: pino({ level: 'silent' }),
    });
    try {
      const anthropic = new Anthropic({ apiKey: 'unused', baseURL: g.url, maxRetries: 0 });
      const r = await anthropic.messages.create({
        model: 'claude-opus-4-8',
        max_tokens: 20,
        messages: [{ role: 'user', content: 'to the native path' }],
      });
      assert.equal((r.content[0] as { text: string }).text, 'to the native path');
      assert.equal(lastReceived().operation, 'mantle-messages');
      assert.equal(sentBody()['model'], 'anthropic.claude-opus-4-8');
      const s = await new OpenAI({ apiKey: 'unused', baseURL: `${g.url}/v1`, maxRetries: 0 }).chat.completions.create({
        model: 'claude-opus-4-8',
        messages: [{ role: 'user', content: 'streamed natively' }],
        stream: true,
      });
      let text = '';
      for await (const c of s) text += c.choices[0]?.delta.content ?? '';
      assert.equal(text, 'streamed natively');
      assert.equal(lastReceived().operation, 'mantle-messages');
      // The others stay on InvokeModel.
      await anthropic.messages.create({
        model: HAIKU,
        max_tokens: 20,
        messages: [{ role: 'user', content: 'invoke' }],
      });
      assert.equal(lastReceived().operation, 'invoke');
    } finally {
      await g.close(100);
    }
  });
});

describe('OpenAI front with image fetching on', () => {
  it('refuses private addresses, by IP or by a name that resolves to one', async () => {
    const g = await startGateway({
      port: 0,
      region: 'us-west-2',
      auth: { kind: 'sigv4', credentials: createCredentialCache(CREDS) },
      endpoint: emu.url,
      fetchImages: { maxBytes: 1_000_000 },
      retry: { max: 0 },
      logger: pino({ level: 'silent' }),
    });
    try {
      const client = new OpenAI({ apiKey: 'unused', baseURL: `${g.url}/v1`, maxRetries: 0 });
      // The gateway's own port: an image URL must never reach it, or anything else on this network.
      for (const url of [
        `${g.url}/v1/models`,
        `http://localhost:${g.port}/x.png`,
        'http://169.254.169.254/latest/meta-data/',
        'http://[::1]:1/x.png',
      ]) {
        await assert.rejects(
          client.chat.completions.create({
            model: HAIKU,
            messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }] }],
          }),
          (e: InstanceType<typeof OpenAI.BadRequestError>) => e.status === 400 && /private addresses/.test(e.message),
          url,
        );
      }
    } finally {
      await g.close(100);
    }
  });
});
