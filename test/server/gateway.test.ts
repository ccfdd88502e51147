import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import Anthropic, {
  AuthenticationError,
  BadRequestError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
} from '@anthropic-ai/sdk';
import AnthropicBedrock from '@anthropic-ai/bedrock-sdk';
import {
  BedrockRuntimeClient,
  InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
  ConverseCommand,
} from '@aws-sdk/client-bedrock-runtime';
import pino from 'pino';
import { request } from 'undici';
import { createCredentialCache } from '../../src/aws/credentials.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { createGatewayKey } from '../../src/control/gateway-keys.js';
import { startGateway, type RunningGateway } from '../../src/server/gateway.js';
import { CREDS, tempHome } from '../helpers.js';

const execFileAsync = promisify(execFile);
/** Runs a command with stdin closed (Claude Code waits 3 s for piped input otherwise). */
function run(file: string, args: string[], opts: Parameters<typeof execFile>[2]) {
  const p = execFileAsync(file, args, opts as never) as unknown as Promise<{ stdout: string; stderr: string }> & {
    child: { stdin: { end(): void } | null };
  };
  p.child.stdin?.end();
  return p;
}
const logs: Array<Record<string, unknown>> = [];
const logger = pino(
  { base: null },
  new Writable({
    write(chunk, _e, cb) {
      for (const l of String(chunk).split('\n')) if (l) logs.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  }),
);
const alice = createGatewayKey('alice');
const bob = createGatewayKey('bob');
bob.entry.models = ['claude-haiku-*'];

let emu: RunningEmulator;
let gw: RunningGateway;
let open: RunningGateway;
const SONNET_US = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';

before(async () => {
  emu = await startEmulator({ port: 0 });
  const auth = { kind: 'sigv4' as const, credentials: createCredentialCache(CREDS) };
  gw = await startGateway({
    port: 0,
    region: 'us-west-2',
    auth,
    endpoint: emu.url,
    backendLabel: 'emulator',
    keys: [alice.entry, bob.entry],
    routes: {
      'sonnet-failover': [
        { region: 'us-east-1', modelId: SONNET_US },
        { region: 'us-west-2', modelId: SONNET_US },
      ],
      'strict-opus': {
        policy: 'strict',
        targets: [{ region: 'us-west-2', modelId: 'global.anthropic.claude-opus-4-6-v1' }],
      },
    },
    retry: { max: 1, baseMs: 1, capMs: 2 },
    logger,
  });
  open = await startGateway({ port: 0, region: 'us-west-2', auth, endpoint: emu.url, retry: { max: 0 }, logger });
});
after(async () => {
  await gw.close(100);
  await open.close(100);
  await emu.close();
});

const anthropic = (key = alice.key, extra: Record<string, unknown> = {}) =>
  new Anthropic({ apiKey: key, baseURL: gw.url, maxRetries: 0, ...extra });
const lastReceived = () => emu.received[emu.received.length - 1]!;

describe('gateway, Anthropic front, with @anthropic-ai/sdk', () => {
  it('messages.create', async () => {
    const m = await anthropic().messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'Hello gateway' }],
    });
    assert.deepEqual(m.content, [{ type: 'text', text: 'Hello gateway' }]);
    assert.equal(lastReceived().modelId, 'global.anthropic.claude-sonnet-4-5-20250929-v1:0');
    const line = logs.findLast((l) => l['path'] === '/v1/messages')!;
    assert.equal(line['key'], 'alice');
    assert.equal(line['bedrockModel'], 'global.anthropic.claude-sonnet-4-5-20250929-v1:0');
    assert.equal(line['inputTokens'], m.usage.input_tokens);
    assert.ok(typeof line['costUsd'] === 'number' && line['costUsd'] > 0);
  });
  it('messages.stream with text, tool use and thinking: finalMessage() equals the non-streamed result', async () => {
    // Thinking and a forced tool cannot go together (Bedrock refuses it, and so does preflight): one request each.
    const tools = [
      {
        name: 'get_weather',
        input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] },
      },
    ];
    const cases = [
      {
        params: {
          model: 'claude-opus-4-6',
          max_tokens: 3000,
          thinking: { type: 'enabled' as const, budget_tokens: 1024 },
          tools,
          messages: [{ role: 'user' as const, content: 'Weather in Lisbon?' }],
        },
        types: ['thinking', 'text'],
      },
      {
        params: {
          model: 'claude-opus-4-6',
          max_tokens: 3000,
          tools,
          tool_choice: { type: 'any' as const },
          messages: [{ role: 'user' as const, content: 'Weather in Lisbon?' }],
        },
        types: ['tool_use'],
      },
    ];
    for (const { params, types } of cases) {
      const streamed = await anthropic().messages.stream(params).finalMessage();
      const created = await anthropic().messages.create(params);
      const fields = (m: typeof created) => ({
        id: m.id,
        type: m.type,
        role: m.role,
        model: m.model,
        content: m.content,
        stop_reason: m.stop_reason,
        stop_sequence: m.stop_sequence,
        usage: m.usage,
      });
      assert.deepEqual(fields(streamed), fields(created));
      assert.deepEqual(
        streamed.content.map((b) => b.type),
        types,
      );
    }
    let text = '';
    const s = anthropic().messages.stream({
      model: 'claude-haiku-4-5',
      max_tokens: 50,
      messages: [{ role: 'user', content: 'plain text stream' }],
    });
    s.on('text', (t) => (text += t));
    const final = await s.finalMessage();
    assert.equal(text, 'plain text stream');
    assert.equal(final.stop_reason, 'end_turn');
  });
  it('countTokens and models.list / retrieve', async () => {
    const c = await anthropic().messages.countTokens({
      model: 'claude-sonnet-4-5',
      messages: [{ role: 'user', content: 'count these tokens' }],
    });
    assert.ok(c.input_tokens > 0);
    assert.equal(lastReceived().operation, 'count-tokens');
    const ids: string[] = [];
    for await (const m of anthropic().models.list()) ids.push(m.id);
    assert.ok(ids.includes('claude-opus-4-6') && ids.includes('claude-haiku-4-5'));
    assert.equal((await anthropic().models.retrieve('claude-opus-4-6')).display_name, 'Claude Opus 4.6');
    await assert.rejects(anthropic().models.retrieve('gpt-4'), (e: unknown) => e instanceof NotFoundError);
  });
  it('an unknown model gives NotFoundError with the fix; a model not offered gives BadRequestError', async () => {
    await assert.rejects(
      anthropic().messages.create({
        model: 'claude-sonet-4-5',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'x' }],
      }),
      (e: unknown) => e instanceof NotFoundError && /Did you mean .*claude-sonnet-4-5/.test(e.message),
    );
    await assert.rejects(
      anthropic().messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, messages: [] }),
      (e: unknown) => e instanceof BadRequestError && /messages/.test(e.message),
    );
  });
  it('a bad key gives AuthenticationError; a key without the model gives PermissionDeniedError', async () => {
    await assert.rejects(
      anthropic('wrong-key').messages.create({
        model: 'claude-sonnet-4-5',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'x' }],
      }),
      (e: unknown) => e instanceof AuthenticationError && /gateway key/.test(e.message),
    );
    await assert.rejects(
      anthropic(bob.key).messages.create({
        model: 'claude-sonnet-4-5',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'x' }],
      }),
      (e: unknown) => e instanceof PermissionDeniedError,
    );
    const ok = await new Anthropic({
      authToken: bob.key,
      apiKey: null,
      baseURL: gw.url,
      maxRetries: 0,
    }).messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'bearer works' }],
    });
    assert.equal(ok.content[0]?.type, 'text');
  });
  it('a forced throttle on every target gives RateLimitError with retry-after', async () => {
    emu.setFaults('throttle=1');
    try {
      await assert.rejects(
        anthropic().messages.create({
          model: 'sonnet-failover',
          max_tokens: 5,
          messages: [{ role: 'user', content: 'x' }],
        }),
        (e: unknown) => e instanceof RateLimitError && e.headers?.get('retry-after') !== null,
      );
    } finally {
      emu.setFaults(undefined);
    }
  });
  it('fails over to the second target when the first region throttles, and counts it', async () => {
    emu.setFaults('us-east-1:throttle=1');
    try {
      const m = await anthropic().messages.create({
        model: 'sonnet-failover',
        max_tokens: 20,
        messages: [{ role: 'user', content: 'failover please' }],
      });
      assert.equal((m.content[0] as { text: string }).text, 'failover please');
      assert.equal(lastReceived().region, 'us-west-2');
    } finally {
      emu.setFaults(undefined);
    }
    const metrics = await (await request(`${gw.url}/metrics`)).body.text();
    assert.match(metrics, /bedrock_claude_failovers_total [1-9]/);
    assert.match(metrics, /bedrock_claude_retries_total [1-9]/);
    assert.match(metrics, /bedrock_claude_upstream_errors_total\{type="rate_limit_error"\} [1-9]/);
  });
  it('drops the betas and fields Bedrock rejects, and says so', async () => {
    const res = await request(`${gw.url}/v1/messages?beta=true`, {
      method: 'POST',
      headers: {
        'x-api-key': alice.key,
        'content-type': 'application/json',
        'anthropic-beta': 'claude-code-20250219,interleaved-thinking-2025-05-14,oauth-2025-04-20',
      },
      body: JSON.stringify({
        model: 'claude-opus-4-6',
        max_tokens: 50,
        context_management: { edits: [] },
        messages: [{ role: 'user', content: 'sanitise' }],
      }),
    });
    assert.equal(res.statusCode, 200, await res.body.text());
    assert.match(
      String(res.headers['x-bedrock-claude-dropped']),
      /claude-code-20250219.*oauth-2025-04-20.*context_management/,
    );
    const body = lastReceived().body as Record<string, unknown>;
    assert.deepEqual(body['anthropic_beta'], ['interleaved-thinking-2025-05-14']);
    assert.equal('context_management' in body, false);
  });
  it('a route with policy strict refuses what Bedrock would reject, with the fix', async () => {
    const res = await request(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': alice.key, 'anthropic-beta': 'files-api-2025-04-14' },
      body: JSON.stringify({ model: 'strict-opus', max_tokens: 20, messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(res.statusCode, 400);
    const b = (await res.body.json()) as { error: { type: string; message: string } };
    assert.match(b.error.message, /files-api-2025-04-14.*Fix: Remove those betas/);
    const ok = await anthropic().messages.create({
      model: 'strict-opus',
      max_tokens: 20,
      messages: [{ role: 'user', content: 'strict but fine' }],
    });
    assert.equal((ok.content[0] as { text: string }).text, 'strict but fine');
  });
  it("stops an empty turn before Bedrock, in Bedrock's words and with the fix", async () => {
    const before = lastReceived();
    const err = await anthropic()
      .messages.create({
        model: 'claude-sonnet-4-5',
        max_tokens: 20,
        messages: [
          { role: 'user', content: 'a' },
          { role: 'assistant', content: '' },
          { role: 'user', content: 'b' },
        ],
      })
      .catch((e: unknown) => e as { status: number; error: { error: { type: string; message: string } } });
    assert.equal((err as { status: number }).status, 400);
    const e = (err as { error: { error: { type: string; message: string } } }).error.error;
    assert.equal(e.type, 'invalid_request_error');
    assert.match(
      e.message,
      /messages\.1: all messages must have non-empty content except for the optional final assistant message\. Fix: Give every message some content/,
    );
    assert.equal(lastReceived(), before, 'nothing reached the upstream');
  });
  it('answers APIs Bedrock lacks, HEAD /, health and bad input in the Anthropic shape', async () => {
    for (const p of ['/v1/messages/batches', '/v1/files', '/v1/skills']) {
      const r = await request(`${gw.url}${p}`, { headers: { 'x-api-key': alice.key } });
      const b = (await r.body.json()) as { type: string; error: { type: string; message: string }; request_id: string };
      assert.equal(r.statusCode, 404);
      assert.equal(b.type, 'error');
      assert.match(b.error.message, /not available on Amazon Bedrock/);
      assert.ok(r.headers['request-id']);
    }
    const head = await request(`${gw.url}/`, { method: 'HEAD' });
    assert.equal(head.statusCode, 200);
    await head.body.text();
    const bad = await request(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': alice.key },
      body: '{oops',
    });
    assert.equal(bad.statusCode, 400);
    assert.equal(((await bad.body.json()) as { error: { type: string } }).error.type, 'invalid_request_error');
    // A body declared over the limit is refused from its headers, before a byte of it is read.
    const socket = connect(gw.port, '127.0.0.1');
    socket.write(
      `POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\nx-api-key: ${alice.key}\r\ncontent-type: application/json\r\ncontent-length: 30000000\r\n\r\n{"model":`,
    );
    let answer = '';
    for await (const chunk of socket) {
      answer += String(chunk);
      if (answer.includes('}}')) break;
    }
    socket.destroy();
    assert.match(answer, /^HTTP\/1\.1 413 /);
    assert.match(answer, /"type":"request_too_large"/);
  });
});

describe('gateway, Bedrock front', () => {
  it('@anthropic-ai/bedrock-sdk with skipAuth: create and stream', async () => {
    const client = new AnthropicBedrock({ baseURL: open.url, skipAuth: true, awsRegion: 'us-west-2', maxRetries: 0 });
    const m = await client.messages.create({
      model: SONNET_US,
      max_tokens: 50,
      messages: [{ role: 'user', content: 'bedrock front' }],
    });
    assert.deepEqual(m.content, [{ type: 'text', text: 'bedrock front' }]);
    const final = await client.messages
      .stream({
        model: 'global.anthropic.claude-opus-4-6-v1',
        max_tokens: 50,
        messages: [{ role: 'user', content: 'bedrock stream' }],
      })
      .finalMessage();
    assert.deepEqual(final.content, [{ type: 'text', text: 'bedrock stream' }]);
    const withKey = new AnthropicBedrock({
      baseURL: gw.url,
      skipAuth: true,
      awsRegion: 'us-west-2',
      maxRetries: 0,
      defaultHeaders: { 'x-api-key': alice.key },
    });
    assert.equal(
      (await withKey.messages.create({ model: SONNET_US, max_tokens: 5, messages: [{ role: 'user', content: 'k' }] }))
        .type,
      'message',
    );
    await assert.rejects(
      new AnthropicBedrock({ baseURL: gw.url, skipAuth: true, awsRegion: 'us-west-2', maxRetries: 0 }).messages.create({
        model: SONNET_US,
        max_tokens: 5,
        messages: [{ role: 'user', content: 'k' }],
      }),
      (e: { status?: number }) => e.status === 403,
    );
  });
  it("the AWS SDK (HTTP/2) with an endpoint override: InvokeModel and the stream, errors in Bedrock's shape", async () => {
    const aws = new BedrockRuntimeClient({
      region: 'us-west-2',
      endpoint: open.url,
      credentials: { accessKeyId: 'ignored', secretAccessKey: 'ignored' },
      maxAttempts: 1,
    });
    try {
      const body = JSON.stringify({
        anthropic_version: 'bedrock-2023-05-31',
        max_tokens: 40,
        messages: [{ role: 'user', content: 'aws sdk via gateway' }],
      });
      const r = await aws.send(new InvokeModelCommand({ modelId: SONNET_US, body }));
      assert.equal(
        (JSON.parse(Buffer.from(r.body).toString()) as { content: Array<{ text: string }> }).content[0]!.text,
        'aws sdk via gateway',
      );
      const s = await aws.send(new InvokeModelWithResponseStreamCommand({ modelId: SONNET_US, body }));
      let text = '';
      for await (const e of s.body!) {
        const ev = e.chunk?.bytes
          ? (JSON.parse(Buffer.from(e.chunk.bytes).toString()) as { type: string; delta?: { text?: string } })
          : undefined;
        if (ev?.type === 'content_block_delta') text += ev.delta?.text ?? '';
      }
      assert.equal(text, 'aws sdk via gateway');
      await assert.rejects(
        aws.send(new InvokeModelCommand({ modelId: 'us.anthropic.claude-nope', body })),
        (e: Error) => e.name === 'ResourceNotFoundException' || e.name === 'ValidationException',
      );
      // Converse over HTTP/2 too (the fronts' own tests are in fronts.test.ts).
      const c = await aws.send(
        new ConverseCommand({
          modelId: SONNET_US,
          messages: [{ role: 'user', content: [{ text: 'converse over h2' }] }],
        }),
      );
      assert.equal(c.output?.message?.content?.[0]?.text, 'converse over h2');
    } finally {
      aws.destroy();
    }
  });
  it('passes stream frames through and counts tokens', async () => {
    const count = await request(
      `${open.url}/model/${encodeURIComponent('anthropic.claude-sonnet-4-5-20250929-v1:0')}/count-tokens`,
      {
        method: 'POST',
        body: JSON.stringify({
          input: {
            invokeModel: {
              body: Buffer.from(
                JSON.stringify({
                  anthropic_version: 'bedrock-2023-05-31',
                  max_tokens: 5,
                  messages: [{ role: 'user', content: 'count' }],
                }),
              ).toString('base64'),
            },
          },
        }),
      },
    );
    assert.equal(count.statusCode, 200);
    assert.ok(((await count.body.json()) as { inputTokens: number }).inputTokens > 0);
    const profiles = await request(`${open.url}/inference-profiles?type=SYSTEM_DEFINED`);
    const list = (await profiles.body.json()) as { inferenceProfileSummaries: Array<{ inferenceProfileId: string }> };
    assert.ok(list.inferenceProfileSummaries.some((p) => p.inferenceProfileId === SONNET_US));
  });
});

describe('gateway with Claude Code', () => {
  const claudeEnv = (extra: Record<string, string>) => ({
    PATH: process.env['PATH'] ?? '',
    HOME: tempHome(),
    DISABLE_TELEMETRY: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  });
  it('ANTHROPIC_BASE_URL + a gateway key: claude -p prints the echo, betas reach Bedrock sanitised', async () => {
    const before = emu.received.length;
    const r = await run('node_modules/.bin/claude', ['-p', 'Echo through the gateway'], {
      env: claudeEnv({ ANTHROPIC_BASE_URL: gw.url, ANTHROPIC_API_KEY: alice.key }),
      timeout: 90_000,
    });
    assert.equal(r.stdout.trim(), 'Echo through the gateway');
    // Its default model is one of the newest: bedrock-runtime's Messages API, profile ID in the body.
    const sent = emu.received.slice(before).filter((x) => x.operation === 'mantle-messages');
    assert.ok(sent.length >= 1);
    for (const x of sent) {
      const betas = String(x.headers['anthropic-beta'] ?? '').split(',');
      // claude-code-20250219 passes there (Anthropic's own gateway sends it); what Bedrock refuses does not.
      for (const b of betas) assert.ok(!/oauth|prompt-caching-scope/.test(b), `unsanitised beta ${b}`);
      assert.match(String((x.body as Record<string, unknown>)['model']), /^global\.anthropic\.claude-/);
    }
  });
  it('its own default model and --model of each family alias reach the endpoint that serves them', async () => {
    // Claude Code names its models itself (`opus` is its newest Opus); the gateway resolves each name.
    // Each name's calls must match one of its forms: what Claude Code 2.1.197 asked for, and what 2.1.332 asks for
    // (`fable` is `claude-fable-5-2`, `haiku` is `claude-haiku-5-5`: neither is in the catalog, so each goes on by its
    // bare Bedrock ID to mantle, where the newest models are, and Bedrock says whether it knows it).
    const cases: Array<[string | undefined, Array<[RegExp, string]>]> = [
      [undefined, [[/^global\.anthropic\.claude-(opus|sonnet)-/, 'runtime']]],
      ['opus', [[/^global\.anthropic\.claude-opus-/, 'runtime']]],
      ['sonnet', [[/^global\.anthropic\.claude-sonnet-/, 'runtime']]],
      [
        'fable',
        [
          [/^global\.anthropic\.claude-fable-5-1$/, 'runtime'],
          [/^anthropic\.claude-fable-5-2$/, 'mantle'],
        ],
      ],
      [
        'haiku',
        [
          [/^global\.anthropic\.claude-haiku-4-5/, 'invoke'],
          [/^anthropic\.claude-haiku-5-5$/, 'mantle'],
        ],
      ],
    ];
    for (const [model, forms] of cases) {
      const before = emu.received.length;
      const r = await run(
        'node_modules/.bin/claude',
        ['-p', `Echo ${model ?? 'default'}`, ...(model ? ['--model', model] : [])],
        {
          env: claudeEnv({ ANTHROPIC_BASE_URL: gw.url, ANTHROPIC_API_KEY: alice.key }),
          timeout: 90_000,
        },
      );
      assert.equal(r.stdout.trim(), `Echo ${model ?? 'default'}`, model);
      const calls = emu.received
        .slice(before)
        .filter((x) => x.operation !== 'count-tokens' && x.operation !== 'mantle-count-tokens');
      assert.ok(calls.length >= 1, model);
      for (const x of calls) {
        const endpoint = x.endpoint ?? 'invoke';
        assert.ok(
          forms.some(([id, where]) => id.test(x.modelId) && where === endpoint),
          `${model}: ${x.modelId} on ${endpoint}`,
        );
      }
    }
  });
  it('Bedrock mode with CLAUDE_CODE_SKIP_BEDROCK_AUTH=1', async () => {
    const r = await run('node_modules/.bin/claude', ['-p', 'Echo in Bedrock mode'], {
      env: claudeEnv({
        CLAUDE_CODE_USE_BEDROCK: '1',
        CLAUDE_CODE_SKIP_BEDROCK_AUTH: '1',
        ANTHROPIC_BEDROCK_BASE_URL: gw.url,
        AWS_REGION: 'us-west-2',
        ANTHROPIC_CUSTOM_HEADERS: `x-api-key: ${alice.key}`,
      }),
      timeout: 90_000,
    });
    assert.equal(r.stdout.trim(), 'Echo in Bedrock mode');
  });
});

describe('gateway shutdown', () => {
  it('lets open streams finish, refuses new requests', async () => {
    const slowEmu = await startEmulator({ port: 0, faults: 'gap=40ms' });
    const g = await startGateway({
      port: 0,
      region: 'us-west-2',
      auth: { kind: 'sigv4', credentials: createCredentialCache(CREDS) },
      endpoint: slowEmu.url,
      logger,
    });
    try {
      const client = new Anthropic({ apiKey: 'none', baseURL: g.url, maxRetries: 0 });
      const stream = client.messages.stream({
        model: 'claude-haiku-4-5',
        max_tokens: 50,
        messages: [{ role: 'user', content: 'finish me please' }],
      });
      await new Promise<void>((r) => stream.on('streamEvent', () => r()));
      const closing = g.close(5000);
      const final = await stream.finalMessage();
      assert.equal((final.content[0] as { text: string }).text, 'finish me please');
      await closing;
      await assert.rejects(request(`${g.url}/healthz`));
    } finally {
      await slowEmu.close();
    }
  });
});
