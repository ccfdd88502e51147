/**
 * Conformance: clients nobody here wrote accept the emulator. The AWS SDK (its own event-stream
 * parser and CRC checks, over HTTP/2), the Anthropic Bedrock SDK, and the Claude Code CLI.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import AnthropicBedrock from '@anthropic-ai/bedrock-sdk';
import { BadRequestError, PermissionDeniedError, RateLimitError } from '@anthropic-ai/sdk';
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  CountTokensCommand,
  InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
} from '@aws-sdk/client-bedrock-runtime';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { CREDS, tempHome } from '../helpers.js';

const SONNET = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
let emu: RunningEmulator;
let aws: BedrockRuntimeClient;
const bedrock = (extra: Record<string, unknown> = {}) =>
  new AnthropicBedrock({
    awsRegion: 'us-west-2',
    baseURL: emu.url,
    awsAccessKey: CREDS.accessKeyId,
    awsSecretKey: CREDS.secretAccessKey,
    maxRetries: 0,
    ...extra,
  });

/** The legacy models take the API version of 2023: the SDK sends the version it is given. */
const PINNED = { defaultHeaders: { 'anthropic-version': '2023-06-01' } };

before(async () => {
  emu = await startEmulator({ port: 0 });
  aws = new BedrockRuntimeClient({ region: 'us-west-2', endpoint: emu.url, credentials: CREDS, maxAttempts: 1 });
});
after(async () => {
  aws.destroy();
  await emu.close();
});

const body = JSON.stringify({
  anthropic_version: 'bedrock-2023-05-31',
  max_tokens: 64,
  messages: [{ role: 'user', content: 'Hello from the AWS SDK' }],
});

describe('@aws-sdk/client-bedrock-runtime', () => {
  it('InvokeModel', async () => {
    const r = await aws.send(
      new InvokeModelCommand({ modelId: SONNET, body, contentType: 'application/json', accept: 'application/json' }),
    );
    const m = JSON.parse(Buffer.from(r.body).toString()) as { content: Array<{ text: string }> };
    assert.equal(m.content[0]!.text, 'Hello from the AWS SDK');
    assert.equal(r.contentType, 'application/json');
  });
  it('InvokeModelWithResponseStream (its CRC-checking parser accepts our frames)', async () => {
    const r = await aws.send(
      new InvokeModelWithResponseStreamCommand({ modelId: SONNET, body, contentType: 'application/json' }),
    );
    const events: Array<Record<string, unknown>> = [];
    for await (const e of r.body!)
      if (e.chunk?.bytes) events.push(JSON.parse(Buffer.from(e.chunk.bytes).toString()) as Record<string, unknown>);
    assert.equal(events[0]!['type'], 'message_start');
    const stop = events[events.length - 1]!;
    assert.equal(stop['type'], 'message_stop');
    assert.ok(stop['amazon-bedrock-invocationMetrics']);
    assert.equal(
      events
        .filter((e) => e['type'] === 'content_block_delta')
        .map((e) => (e['delta'] as { text: string }).text)
        .join(''),
      'Hello from the AWS SDK',
    );
  });
  it('CountTokens', async () => {
    const r = await aws.send(
      new CountTokensCommand({
        modelId: 'anthropic.claude-sonnet-4-5-20250929-v1:0',
        input: { invokeModel: { body: new TextEncoder().encode(body) } },
      }),
    );
    assert.ok((r.inputTokens ?? 0) > 0);
  });
  it('Converse', async () => {
    const r = await aws.send(
      new ConverseCommand({
        modelId: SONNET,
        messages: [{ role: 'user', content: [{ text: 'Converse hello' }] }],
        inferenceConfig: { maxTokens: 50 },
      }),
    );
    assert.equal(r.output?.message?.content?.[0]?.text, 'Converse hello');
    assert.equal(r.stopReason, 'end_turn');
    assert.equal(r.usage?.totalTokens, (r.usage?.inputTokens ?? 0) + (r.usage?.outputTokens ?? 0));
  });
  it('ConverseStream, with a forced tool', async () => {
    const r = await aws.send(
      new ConverseStreamCommand({
        modelId: SONNET,
        messages: [{ role: 'user', content: [{ text: 'weather' }] }],
        toolConfig: {
          tools: [
            {
              toolSpec: {
                name: 'get_weather',
                inputSchema: { json: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
              },
            },
          ],
          toolChoice: { tool: { name: 'get_weather' } },
        },
      }),
    );
    let input = '';
    let stopReason: string | undefined;
    let sawMetadata = false;
    for await (const e of r.stream!) {
      if (e.contentBlockDelta?.delta?.toolUse) input += e.contentBlockDelta.delta.toolUse.input ?? '';
      if (e.messageStop) stopReason = e.messageStop.stopReason;
      if (e.metadata) sawMetadata = true;
    }
    assert.deepEqual(JSON.parse(input), { city: 'example' });
    assert.equal(stopReason, 'tool_use');
    assert.ok(sawMetadata);
  });
  it("maps validation errors to the SDK's ValidationException", async () => {
    await assert.rejects(
      aws.send(new InvokeModelCommand({ modelId: 'anthropic.claude-sonnet-4-5-20250929-v1:0', body })),
      (e: Error) => e.name === 'ValidationException' && /on-demand throughput/.test(e.message),
    );
  });
});

describe('@anthropic-ai/bedrock-sdk', () => {
  it('sends API version 2026-10-21, which the legacy models refuse and the models from Opus 4.7 on take', async () => {
    const params = { max_tokens: 64, messages: [{ role: 'user' as const, content: 'ping' }] };
    await assert.rejects(
      bedrock().messages.create(Object.assign({ model: SONNET }, params)),
      (e: Error & { status?: number }) =>
        e.status === 400 && /2026-10-21 is not supported by this model/.test(e.message),
    );
    const m = await bedrock().messages.create(Object.assign({ model: 'global.anthropic.claude-opus-5' }, params));
    assert.deepEqual(m.content, [{ type: 'text', text: 'ping' }]);
  });
  it('messages.create', async () => {
    const m = await bedrock(PINNED).messages.create({
      model: SONNET,
      max_tokens: 64,
      messages: [{ role: 'user', content: 'ping' }],
    });
    assert.deepEqual(m.content, [{ type: 'text', text: 'ping' }]);
  });
  it('messages.stream with text, tool use and thinking; finalMessage matches create', async () => {
    const client = bedrock(PINNED);
    // Thinking and a forced tool cannot go together (Bedrock refuses it): one request each.
    const tools = [
      {
        name: 'lookup',
        input_schema: { type: 'object' as const, properties: { q: { type: 'string' } }, required: ['q'] },
      },
    ];
    const cases = [
      {
        params: {
          model: 'global.anthropic.claude-opus-4-6-v1',
          max_tokens: 4000,
          thinking: { type: 'enabled' as const, budget_tokens: 1024 },
          tools,
          messages: [{ role: 'user' as const, content: 'find it' }],
        },
        types: ['thinking', 'text'],
      },
      {
        params: {
          model: 'global.anthropic.claude-opus-4-6-v1',
          max_tokens: 4000,
          tools,
          tool_choice: { type: 'any' as const },
          messages: [{ role: 'user' as const, content: 'find it' }],
        },
        types: ['tool_use'],
      },
    ];
    for (const { params, types } of cases) {
      const final = await client.messages.stream(params).finalMessage();
      assert.deepEqual(
        final.content.map((b) => b.type),
        types,
      );
      const created = await client.messages.create(params);
      assert.deepEqual(final.content, created.content);
      assert.deepEqual(final.usage, created.usage);
    }
    const text = bedrock(PINNED).messages.stream({
      model: SONNET,
      max_tokens: 100,
      messages: [{ role: 'user', content: 'stream text' }],
    });
    let deltas = '';
    text.on('text', (t) => (deltas += t));
    await text.finalMessage();
    assert.equal(deltas, 'stream text');
  });
  it('a bad model gives BadRequestError, a forced throttle RateLimitError, a wrong secret a 403', async () => {
    await assert.rejects(
      bedrock().messages.create({
        model: 'anthropic.claude-opus-4-6-v1',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'x' }],
      }),
      (e: unknown) => e instanceof BadRequestError && /on-demand/.test(e.message),
    );
    await assert.rejects(
      bedrock({ defaultHeaders: { 'x-emulator-fault': 'throttle' } }).messages.create({
        model: SONNET,
        max_tokens: 5,
        messages: [{ role: 'user', content: 'x' }],
      }),
      (e: unknown) => e instanceof RateLimitError,
    );
    await assert.rejects(
      bedrock({ awsSecretKey: 'wrong' }).messages.create({
        model: SONNET,
        max_tokens: 5,
        messages: [{ role: 'user', content: 'x' }],
      }),
      (e: unknown) => e instanceof PermissionDeniedError && e.status === 403,
    );
  });
});

describe('Claude Code CLI in Bedrock mode', () => {
  it('claude -p prints the echoed reply', async () => {
    const home = tempHome();
    // Asynchronous: the emulator runs in this process and must keep answering.
    const r = await promisify(execFile)('node_modules/.bin/claude', ['-p', 'Echo this sentence back'], {
      cwd: process.cwd(),
      encoding: 'utf8',
      timeout: 90_000,
      env: {
        PATH: process.env['PATH'],
        HOME: home,
        DISABLE_TELEMETRY: '1',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        AWS_EC2_METADATA_DISABLED: 'true',
        CLAUDE_CODE_USE_BEDROCK: '1',
        ANTHROPIC_BEDROCK_BASE_URL: emu.url,
        AWS_REGION: 'us-west-2',
        AWS_ACCESS_KEY_ID: CREDS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: CREDS.secretAccessKey,
      },
    });
    assert.equal(r.stdout.trim(), 'Echo this sentence back', r.stderr);
    const streamed = emu.received.filter((x) => x.operation === 'invoke-with-response-stream');
    assert.ok(streamed.length >= 1, 'Claude Code streamed through InvokeModelWithResponseStream');
  });
});
