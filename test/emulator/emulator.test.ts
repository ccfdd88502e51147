import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { decodeEventStream, encodeChunkFrame, frameHeader } from '../../src/translate/event-stream.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { emptySummary, eventStreamToSse } from '../../src/translate/to-sse.js';
import { parseSse } from '../../src/translate/parse-sse.js';
import { CREDS, signedRequest } from '../helpers.js';

const SONNET = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const OPUS = 'global.anthropic.claude-opus-4-6-v1';
const body = (extra: Record<string, unknown> = {}) => ({
  anthropic_version: 'bedrock-2023-05-31',
  max_tokens: 200,
  messages: [{ role: 'user', content: 'Hello, emulator' }],
  ...extra,
});
const invokePath = (id: string, op = 'invoke') => `/model/${encodeURIComponent(id)}/${op}`;

async function* once(bytes: Buffer) {
  yield new Uint8Array(bytes);
}

let emu: RunningEmulator;
before(async () => {
  emu = await startEmulator({
    port: 0,
    apiKeys: ['bedrock-api-key-for-tests'],
    script: {
      rules: [
        { match: { text: '^scripted weather' }, reply: { toolUse: { name: 'get_weather', input: { city: 'Oslo' } } } },
        {
          match: { model: 'haiku', text: '^scripted fail' },
          reply: { error: { status: 429, type: 'ThrottlingException', message: 'Scripted throttle.' } },
        },
        { match: { text: '^scripted text' }, reply: { text: 'Scripted answer.', delayMs: 5 } },
      ],
    },
  });
});
after(() => emu.close());

describe('emulator: happy paths', () => {
  it('answers /healthz and echoes the last user message with consistent usage', async () => {
    const health = await request(`${emu.url}/healthz`);
    assert.equal(health.statusCode, 200);
    await health.body.text();
    const res = await signedRequest(emu.url, invokePath(SONNET), body());
    assert.equal(res.status, 200);
    const m = res.json();
    assert.deepEqual(m['content'], [{ type: 'text', text: 'Hello, emulator' }]);
    assert.equal(m['model'], 'claude-sonnet-4-5-20250929');
    assert.match(String(m['id']), /^msg_bdrk_/);
    const usage = m['usage'] as { input_tokens: number; output_tokens: number };
    assert.equal(res.headers['x-amzn-bedrock-input-token-count'], String(usage.input_tokens));
    assert.equal(res.headers['x-amzn-bedrock-output-token-count'], String(usage.output_tokens));
    assert.ok(res.headers['x-amzn-requestid']);
    assert.ok(res.headers['x-amzn-bedrock-invocation-latency']);
  });
  it('accepts the model ID raw or percent-encoded', async () => {
    const raw = await signedRequest(emu.url, `/model/${SONNET}/invoke`, body());
    assert.equal(raw.status, 200, raw.text);
  });
  it('streams with padding, several text deltas, and metrics on message_stop', async () => {
    const res = await signedRequest(emu.url, invokePath(OPUS, 'invoke-with-response-stream'), body());
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/vnd.amazon.eventstream');
    assert.match(res.text, /"p":"[A-Za-z0-9]+"/);
    const summary = emptySummary();
    const events = [];
    for await (const e of parseSse(eventStreamToSse(once(res.bytes), summary))) events.push(e);
    assert.ok(events.filter((e) => e['type'] === 'content_block_delta').length >= 3);
    assert.equal(
      events.map((e) => (e['delta'] as { text?: string } | undefined)?.text ?? '').join(''),
      'Hello, emulator',
    );
    assert.equal(summary.metrics?.outputTokenCount, summary.usage.output_tokens);
    assert.equal(summary.metrics?.inputTokenCount, summary.usage.input_tokens);
  });
  it('produces a tool_use that satisfies the schema when a tool is forced, streamed as input_json_delta', async () => {
    const tools = [
      {
        name: 'book',
        input_schema: {
          type: 'object',
          properties: {
            city: { type: 'string' },
            nights: { type: 'integer', minimum: 2 },
            kind: { enum: ['hotel', 'flat'] },
            tags: { type: 'array', minItems: 1, items: { type: 'string' } },
            opt: { type: 'boolean' },
          },
          required: ['city', 'nights', 'kind', 'tags'],
        },
      },
    ];
    const res = await signedRequest(
      emu.url,
      invokePath(OPUS),
      body({ tools, tool_choice: { type: 'tool', name: 'book' } }),
    );
    const m = res.json();
    assert.equal(m['stop_reason'], 'tool_use');
    const block = (m['content'] as Array<Record<string, unknown>>)[0]!;
    assert.equal(block['type'], 'tool_use');
    assert.deepEqual(block['input'], { city: 'example', nights: 2, kind: 'hotel', tags: ['example'] });
    const stream = await signedRequest(
      emu.url,
      invokePath(OPUS, 'invoke-with-response-stream'),
      body({ tools, tool_choice: { type: 'any' } }),
    );
    const events = [];
    for await (const e of parseSse(eventStreamToSse(once(stream.bytes)))) events.push(e);
    const json = events
      .filter((e) => (e['delta'] as { type?: string } | undefined)?.type === 'input_json_delta')
      .map((e) => (e['delta'] as { partial_json: string }).partial_json)
      .join('');
    assert.deepEqual(JSON.parse(json), block['input']);
  });
  it('starts with a signed thinking block when thinking is enabled or adaptive', async () => {
    for (const thinking of [{ type: 'enabled', budget_tokens: 1024 }, { type: 'adaptive' }]) {
      const m = (await signedRequest(emu.url, invokePath(OPUS), body({ max_tokens: 2000, thinking }))).json();
      const blocks = m['content'] as Array<Record<string, unknown>>;
      assert.equal(blocks[0]!['type'], 'thinking');
      assert.ok(String(blocks[0]!['signature']).length > 20);
      assert.equal(blocks[1]!['type'], 'text');
    }
  });
  it('truncates at max_tokens with stop_reason max_tokens, and honours stop sequences', async () => {
    const long = 'word '.repeat(100);
    const m = (
      await signedRequest(
        emu.url,
        invokePath(OPUS),
        body({ max_tokens: 5, messages: [{ role: 'user', content: long }] }),
      )
    ).json();
    assert.equal(m['stop_reason'], 'max_tokens');
    assert.equal((m['content'] as Array<{ text: string }>)[0]!.text.length, 20);
    assert.equal((m['usage'] as { output_tokens: number }).output_tokens, 5);
    const s = (
      await signedRequest(
        emu.url,
        invokePath(OPUS),
        body({ stop_sequences: ['STOP'], messages: [{ role: 'user', content: 'go STOP here' }] }),
      )
    ).json();
    assert.equal(s['stop_reason'], 'stop_sequence');
    assert.equal(s['stop_sequence'], 'STOP');
    const empty = (
      await signedRequest(
        emu.url,
        invokePath(OPUS),
        body({
          messages: [
            {
              role: 'user',
              content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AA==' } }],
            },
          ],
        }),
      )
    ).json();
    assert.equal((empty['content'] as Array<{ text: string }>)[0]!.text, 'Hello from the bedrock-claude emulator.');
  });
  it('counts tokens on the base ID or a profile', async () => {
    const wrapped = { input: { invokeModel: { body: Buffer.from(JSON.stringify(body())).toString('base64') } } };
    const res = await signedRequest(
      emu.url,
      invokePath('anthropic.claude-sonnet-4-5-20250929-v1:0', 'count-tokens'),
      wrapped,
    );
    assert.equal(res.status, 200, res.text);
    assert.equal(typeof res.json()['inputTokens'], 'number');
    const bad = await signedRequest(emu.url, invokePath(SONNET, 'count-tokens'), { input: {} });
    assert.equal(bad.status, 400);
  });
  it('lists the system-defined inference profiles callable from the region', async () => {
    const res = await signedRequest(emu.url, '/inference-profiles?type=SYSTEM_DEFINED', undefined, {
      method: 'GET',
      region: 'ap-northeast-1',
    });
    assert.equal(res.status, 200, res.text);
    const ids = (
      res.json()['inferenceProfileSummaries'] as Array<{
        inferenceProfileId: string;
        status: string;
        type: string;
        models: unknown[];
      }>
    ).map((p) => p.inferenceProfileId);
    assert.ok(ids.includes('jp.anthropic.claude-sonnet-4-5-20250929-v1:0'));
    assert.ok(ids.includes('global.anthropic.claude-haiku-4-5-20251001-v1:0'));
    assert.ok(!ids.some((i) => i.startsWith('us.')));
    assert.ok(!ids.includes('jp.anthropic.claude-haiku-4-5-20251001-v1:0'));
  });
  it('takes Bedrock API keys as bearer tokens', async () => {
    const ok = await request(`${emu.url}${invokePath(SONNET)}`, {
      method: 'POST',
      headers: { authorization: 'Bearer bedrock-api-key-for-tests', 'content-type': 'application/json' },
      body: JSON.stringify(body()),
    });
    assert.equal(ok.statusCode, 200);
    await ok.body.text();
  });
  it('follows a script: tool_use, error, text with delay', async () => {
    const tool = (
      await signedRequest(
        emu.url,
        invokePath(SONNET),
        body({ messages: [{ role: 'user', content: 'scripted weather please' }] }),
      )
    ).json();
    assert.deepEqual((tool['content'] as unknown[])[0], {
      type: 'tool_use',
      id: (tool['content'] as Array<{ id: string }>)[0]!.id,
      name: 'get_weather',
      input: { city: 'Oslo' },
    });
    const err = await signedRequest(
      emu.url,
      invokePath('us.anthropic.claude-haiku-4-5-20251001-v1:0'),
      body({ messages: [{ role: 'user', content: 'scripted fail' }] }),
    );
    assert.equal(err.status, 429);
    assert.match(String(err.headers['x-amzn-errortype']), /^ThrottlingException:/);
    assert.equal(err.json()['message'], 'Scripted throttle.');
    const text = (
      await signedRequest(emu.url, invokePath(SONNET), body({ messages: [{ role: 'user', content: 'scripted text' }] }))
    ).json();
    assert.equal((text['content'] as Array<{ text: string }>)[0]!.text, 'Scripted answer.');
    await assert.rejects(
      startEmulator({ port: 0, script: { rules: [{ match: { text: '(' }, reply: {} }] } }),
      /rules\[0\]: Invalid regular expression/,
    );
    await assert.rejects(
      startEmulator({ port: 0, script: { rules: [{ reply: { nope: 1 } }] } }),
      /script: rules\.0\.reply/,
    );
  });
  it('records what it received, without secrets', async () => {
    await signedRequest(emu.url, invokePath(SONNET), body({ messages: [{ role: 'user', content: 'record me' }] }));
    const last = emu.received[emu.received.length - 1]!;
    assert.equal(last.modelId, SONNET);
    assert.equal(last.operation, 'invoke');
    assert.equal(last.headers['authorization'], '[redacted]');
    assert.ok(!JSON.stringify(emu.received).includes(CREDS.secretAccessKey));
  });
  it('writes chunk frames the way it decodes them', () => {
    assert.ok(encodeChunkFrame('{"type":"ping"}').length > 16);
  });
});

describe('emulator: --delta-chars', () => {
  it('splits the text into deltas of at most N characters on every streaming route', async () => {
    const small = await startEmulator({ port: 0, apiKeys: ['k'], deltaChars: 3 });
    try {
      const content = 'abcdefghijklmnopqrstuvwxyz';
      const invoke = await signedRequest(
        small.url,
        invokePath(SONNET, 'invoke-with-response-stream'),
        body({ messages: [{ role: 'user', content }] }),
      );
      const texts: string[] = [];
      for await (const e of parseSse(eventStreamToSse(once(invoke.bytes))))
        if (e['type'] === 'content_block_delta') texts.push(String((e['delta'] as { text: string }).text));
      const converse = await signedRequest(small.url, invokePath(SONNET, 'converse-stream'), {
        messages: [{ role: 'user', content: [{ text: content }] }],
        inferenceConfig: { maxTokens: 200 },
      });
      const converseTexts: string[] = [];
      for await (const f of decodeEventStream(once(converse.bytes))) {
        if (frameHeader(f, ':event-type') === 'contentBlockDelta')
          converseTexts.push(
            String((JSON.parse(Buffer.from(f.body).toString()) as { delta: { text: string } }).delta.text),
          );
      }
      const mantle = await request(`${small.url}/anthropic/v1/messages`, {
        method: 'POST',
        headers: { authorization: 'Bearer k', 'content-type': 'application/json' },
        // bedrock-mantle takes bare IDs only.
        body: JSON.stringify({
          model: 'anthropic.claude-opus-5',
          max_tokens: 200,
          stream: true,
          messages: [{ role: 'user', content }],
        }),
      });
      const mantleTexts: string[] = [];
      for await (const e of parseSse(mantle.body))
        if (e['type'] === 'content_block_delta') mantleTexts.push(String((e['delta'] as { text: string }).text));
      for (const pieces of [texts, converseTexts, mantleTexts]) {
        assert.equal(pieces.join(''), content);
        assert.equal(pieces.length, 9);
        assert.ok(pieces.every((p) => p.length <= 3));
      }
    } finally {
      await small.close();
    }
  });
});
