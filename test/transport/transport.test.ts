import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createCredentialCache, resolveBedrockAuth } from '../../src/aws/credentials.js';
import { createBedrockClaude } from '../../src/client/create-client.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { BedrockClaudeError } from '../../src/errors.js';
import { createCircuitBreaker } from '../../src/transport/circuit-breaker.js';
import { createTransport, type TransportEvent } from '../../src/transport/bedrock-transport.js';
import { parseSse } from '../../src/translate/parse-sse.js';
import { CREDS, encoded } from '../helpers.js';

let emu: RunningEmulator;
before(async () => {
  emu = await startEmulator({ port: 0 });
});
after(() => emu.close());

const auth = () => ({ kind: 'sigv4' as const, credentials: createCredentialCache(CREDS) });
const req = (extra: Record<string, unknown> = {}) => ({
  path: '/v1/messages',
  body: { model: 'x', max_tokens: 50, messages: [{ role: 'user', content: 'transport' }], ...extra },
});
const US = { region: 'us-east-1', modelId: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0' };
const WEST = { region: 'us-west-2', modelId: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0' };

describe('transport: a dispatcher of the caller', () => {
  it('sends through it, signed (an undici MockAgent here)', async () => {
    const { MockAgent } = await import('undici');
    const agent = new MockAgent();
    agent.disableNetConnect();
    const answer = {
      id: 'msg_mock',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [{ type: 'text', text: 'from the mock' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 3, output_tokens: 4 },
    };
    let sent: { headers: Record<string, string>; body: string } | undefined;
    agent
      .get('https://bedrock-runtime.us-east-1.amazonaws.com')
      .intercept({ path: `/model/${encodeURIComponent(US.modelId)}/invoke`, method: 'POST' })
      .reply(200, (opts) => {
        sent = { headers: opts.headers as Record<string, string>, body: String(opts.body) };
        return answer;
      });
    const t = createTransport({ auth: auth(), dispatcher: agent });
    const r = await t.messages(req(), [US]);
    assert.ok(r.kind === 'json' && r.body['id'] === 'msg_mock');
    assert.match(sent!.headers['authorization']!, /^AWS4-HMAC-SHA256 Credential=/);
    assert.equal(JSON.parse(sent!.body)['anthropic_version'], 'bedrock-2023-05-31');
    await t.close();
    agent.assertNoPendingInterceptors();
    await agent.close();
  });
});

describe('transport', () => {
  it('sends JSON and streams, signed, over the keep-alive pool', async () => {
    const t = createTransport({ auth: auth(), endpoint: emu.url });
    const r = await t.messages(req(), [US]);
    assert.equal(r.kind, 'json');
    if (r.kind === 'json') assert.deepEqual(r.body['content'], [{ type: 'text', text: 'transport' }]);
    const s = encoded(await t.messages(req({ stream: true }), [US]));
    assert.equal(s.kind, 'stream');
    if (s.kind === 'stream') {
      const events = [];
      for await (const e of parseSse(s.sse)) events.push(e);
      assert.equal(events.at(-1)!['type'], 'message_stop');
      assert.equal(s.summary.usage.output_tokens, 3);
      assert.equal(s.summary.metrics?.outputTokenCount, 3);
    }
    const c = await t.messages(
      { path: '/v1/messages/count_tokens', body: { model: 'x', messages: [{ role: 'user', content: 'count' }] } },
      [US],
    );
    assert.ok(c.kind === 'json' && typeof c.body['input_tokens'] === 'number');
    await t.close();
  });
  it('retries throttling with backoff and full jitter, honouring Retry-After, then fails over', async () => {
    emu.setFaults('us-east-1:throttle=1');
    const events: TransportEvent[] = [];
    const sleeps: number[] = [];
    const t = createTransport({
      auth: auth(),
      endpoint: emu.url,
      retry: { max: 2, baseMs: 100, capMs: 1000 },
      sleep: async (ms) => void sleeps.push(ms),
      random: () => 0.5,
      onEvent: (e) => events.push(e),
    });
    try {
      const r = await t.messages(req(), [US, WEST]);
      assert.equal(r.target.region, 'us-west-2');
      assert.equal(r.attempts, 1);
      assert.deepEqual(sleeps, [50, 100]);
      assert.equal(events.filter((e) => e.type === 'retry').length, 2);
      assert.equal(events.filter((e) => e.type === 'failover').length, 1);
      assert.equal(events.filter((e) => e.type === 'upstream_error').length, 3);
    } finally {
      emu.setFaults(undefined);
      await t.close();
    }
  });
  it('gives up with the last error when every target fails, and never retries a client error', async () => {
    emu.setFaults('throttle=1');
    const t = createTransport({ auth: auth(), endpoint: emu.url, retry: { max: 1 }, sleep: async () => undefined });
    try {
      await assert.rejects(
        t.messages(req(), [US, WEST]),
        (e: unknown) => e instanceof BedrockClaudeError && e.status === 429 && e.type === 'rate_limit_error',
      );
    } finally {
      emu.setFaults(undefined);
    }
    let calls = 0;
    const t2 = createTransport({ auth: auth(), endpoint: emu.url, sleep: async () => void calls++ });
    await assert.rejects(
      t2.messages(req({ max_tokens: 10, temperature: 1, top_p: 0.5 }), [
        { region: 'us-west-2', modelId: 'anthropic.claude-opus-4-6-v1' },
      ]),
      (e: unknown) =>
        e instanceof BedrockClaudeError &&
        e.status === 400 &&
        /on-demand/.test(e.message) &&
        /inference profile/.test(e.fix ?? ''),
    );
    assert.equal(calls, 0);
    await Promise.all([t.close(), t2.close()]);
  });
  it('retries a stream whose first frame is an exception, before any byte reaches the caller', async () => {
    let n = 0;
    const t = createTransport({
      auth: auth(),
      endpoint: emu.url,
      sleep: async () => undefined,
      onEvent: (e) => {
        if (e.type === 'retry') n++;
      },
    });
    const s = encoded(await t.messages(req({ stream: true, max_tokens: 1 }), [US], { headers: {} }));
    assert.equal(s.kind, 'stream');
    for await (const _ of s.kind === 'stream' ? s.sse : []) void _;
    assert.equal(n, 0);
    await t.close();
  });
  it('passes a mid-stream exception to the caller as an SSE error event', async () => {
    const t = createTransport({ auth: auth(), endpoint: emu.url });
    const s = encoded(await t.messages(req({ stream: true }), [US], { headers: { 'x-emulator-fault': 'midstream' } }));
    assert.equal(s.kind, 'stream');
    if (s.kind !== 'stream') return;
    const events = [];
    for await (const e of parseSse(s.sse)) events.push(e);
    assert.deepEqual(events.at(-1), {
      type: 'error',
      error: { type: 'api_error', message: 'The model stream was interrupted: emulated mid-stream fault.' },
    });
    assert.equal(s.summary.error?.type, 'api_error');
    assert.ok(s.summary.usage.input_tokens > 0, 'partial usage kept');
    await t.close();
  });
  it('turns connection errors and timeouts into retryable errors', async () => {
    const t = createTransport({ auth: auth(), endpoint: 'http://127.0.0.1:1', retry: { max: 0 } });
    await assert.rejects(
      t.messages(req(), [US]),
      (e: unknown) =>
        e instanceof BedrockClaudeError &&
        e.type === 'api_error' &&
        /Could not reach Bedrock in us-east-1/.test(e.message),
    );
    const slow = createTransport({ auth: auth(), endpoint: emu.url, retry: { max: 0 }, timeouts: { firstByteMs: 50 } });
    await assert.rejects(
      slow.messages(req(), [US], { headers: { 'x-emulator-fault': 'slow' } }),
      (e: unknown) => e instanceof BedrockClaudeError && e.type === 'timeout_error',
    );
    await Promise.all([t.close(), slow.close()]);
  });
  it('stops waiting as soon as the caller aborts, before or after the first byte', async () => {
    const t = createTransport({ auth: auth(), endpoint: emu.url, retry: { max: 0 } });
    const early = new AbortController();
    setTimeout(() => early.abort(new Error('caller left')), 30);
    const t0 = performance.now();
    await assert.rejects(t.messages(req(), [US], { signal: early.signal, headers: { 'x-emulator-fault': 'slow' } }));
    assert.ok(performance.now() - t0 < 500, 'rejected long before the slow answer');
    const gone = new AbortController();
    gone.abort(new Error('already gone'));
    await assert.rejects(t.messages(req(), [US], { signal: gone.signal }));
    const gaps = await startEmulator({ port: 0, faults: 'gap=50ms' });
    const slowStream = createTransport({ auth: auth(), endpoint: gaps.url, retry: { max: 0 } });
    try {
      const late = new AbortController();
      const r = encoded(await slowStream.messages(req({ stream: true }), [US], { signal: late.signal }));
      assert.equal(r.kind, 'stream');
      late.abort(new Error('caller left mid-stream'));
      let text = '';
      for await (const chunk of r.sse) text += Buffer.from(chunk).toString();
      assert.ok(!text.includes('message_stop'), 'the stream ended early');
    } finally {
      await Promise.all([t.close(), slowStream.close()]);
      await gaps.close();
    }
  });
  it('sends a big streaming body whole (written once, then let go), signed as it was sent', async () => {
    const t = createTransport({ auth: auth(), endpoint: emu.url, retry: { max: 0 } });
    const text = 'long conversation '.repeat(3000);
    const r = encoded(await t.messages(req({ stream: true, messages: [{ role: 'user', content: text }] }), [US]));
    assert.equal(r.kind, 'stream');
    let sse = '';
    for await (const chunk of r.sse) sse += Buffer.from(chunk).toString();
    assert.match(sse, /event: message_stop/);
    const received = emu.received[emu.received.length - 1]!;
    assert.equal((received.body as { messages: Array<{ content: string }> }).messages[0]!.content, text);
    await t.close();
  });
  it('holds hundreds of streams open at once: no hidden cap on upstream connections', async () => {
    const gaps = await startEmulator({ port: 0, faults: 'gap=100ms' });
    const t = createTransport({ auth: auth(), endpoint: gaps.url, retry: { max: 0 } });
    const stop = new AbortController();
    try {
      const streams = await Promise.all(
        Array.from({ length: 300 }, () => t.messages(req({ stream: true }), [US], { signal: stop.signal })),
      );
      assert.ok(streams.every((s) => s.kind === 'stream'));
      assert.equal(gaps.openConnections(), 300, 'every stream has its own upstream connection, all open together');
    } finally {
      stop.abort(new Error('done'));
      await t.close();
      await gaps.close();
    }
  });
  it('skips targets whose circuit is open', async () => {
    let now = 0;
    const breaker = createCircuitBreaker({ threshold: 2, cooldownMs: 1000, now: () => now });
    emu.setFaults('us-east-1:unavailable=1');
    const events: TransportEvent[] = [];
    const t = createTransport({
      auth: auth(),
      endpoint: emu.url,
      breaker,
      retry: { max: 0 },
      onEvent: (e) => events.push(e),
    });
    try {
      for (let i = 0; i < 2; i++) await t.messages(req(), [US, WEST]);
      assert.deepEqual(breaker.open(), ['us-east-1/us.anthropic.claude-sonnet-4-5-20250929-v1:0/invoke']);
      events.length = 0;
      await t.messages(req(), [US, WEST]);
      assert.equal(events[0]?.type, 'circuit_open');
      now = 2000;
      emu.setFaults(undefined);
      const r = await t.messages(req(), [US, WEST]);
      assert.equal(r.target.region, 'us-east-1', 'half-open trial succeeds and closes the circuit');
      assert.deepEqual(breaker.open(), []);
    } finally {
      emu.setFaults(undefined);
      await t.close();
    }
    await assert.rejects(createTransport({ auth: auth() }).messages(req(), []), /No upstream target/);
  });
});

describe('circuit breaker', () => {
  it('opens after the threshold, lets one trial through after cooldown, reopens on a failed trial', () => {
    let now = 0;
    const b = createCircuitBreaker({ threshold: 2, cooldownMs: 100, now: () => now });
    b.failure('a');
    assert.ok(b.allow('a'));
    b.failure('a');
    assert.ok(!b.allow('a'));
    now = 150;
    assert.ok(b.allow('a'));
    assert.ok(!b.allow('a'), 'one trial at a time');
    b.failure('a');
    assert.ok(!b.allow('a'));
    now = 300;
    assert.ok(b.allow('a'));
    b.success('a');
    assert.ok(b.allow('a'));
    assert.deepEqual(b.open(), []);
  });
});

describe('credentials', () => {
  it('caches, refreshes in the background before expiry, and waits once expired', async () => {
    let now = 0;
    let calls = 0;
    const provider = async () => {
      calls++;
      return { accessKeyId: `AKID${calls}`, secretAccessKey: 's', expiration: new Date(now + 10_000) };
    };
    const cache = createCredentialCache({ provider, refreshBeforeMs: 3000, now: () => now });
    assert.equal((await cache.get()).accessKeyId, 'AKID1');
    assert.equal((await cache.get()).accessKeyId, 'AKID1');
    assert.equal(calls, 1);
    now = 8000;
    assert.equal((await cache.get()).accessKeyId, 'AKID1', 'still valid: answer now');
    await new Promise((r) => setImmediate(r));
    assert.equal(calls, 2, 'refreshed in the background');
    now = 30_000;
    assert.equal((await cache.get()).accessKeyId, 'AKID3', 'expired: waits for fresh ones');
    assert.equal(cache.source, 'custom provider');
  });
  it('shares one refresh among concurrent callers and explains failures without secrets', async () => {
    let calls = 0;
    const cache = createCredentialCache({
      provider: async () => {
        calls++;
        await new Promise((r) => setTimeout(r, 5));
        return { accessKeyId: 'A', secretAccessKey: 'S' };
      },
    });
    await Promise.all([cache.get(), cache.get(), cache.get()]);
    assert.equal(calls, 1);
    const failing = createCredentialCache({
      provider: async () => {
        throw new Error('no creds here');
      },
    });
    await assert.rejects(
      failing.get(),
      (e: unknown) => e instanceof BedrockClaudeError && /no creds here/.test(e.message) && /doctor/.test(e.fix ?? ''),
    );
  });
  it('picks a Bedrock API key first, as the official SDKs do', () => {
    assert.deepEqual(resolveBedrockAuth({ apiKey: 'k', env: {} }), { kind: 'bearer', token: 'k' });
    assert.deepEqual(resolveBedrockAuth({ env: { AWS_BEARER_TOKEN_BEDROCK: 'e' } }), { kind: 'bearer', token: 'e' });
    const sig = resolveBedrockAuth({ accessKeyId: 'a', secretAccessKey: 'b', env: {} });
    assert.equal(sig.kind, 'sigv4');
    assert.equal(sig.kind === 'sigv4' && sig.credentials.source, 'static keys');
    const profile = resolveBedrockAuth({ profile: 'dev', env: {} });
    assert.equal(profile.kind === 'sigv4' && profile.credentials.source, 'profile dev');
    assert.equal(createCredentialCache({}).source, 'default credential chain');
  });
  it('keeps requests working across credential expiry without a restart', async () => {
    let generation = 0;
    const provider = async () => {
      generation++;
      return { ...CREDS, expiration: new Date(Date.now() + 1500) };
    };
    const claude = createBedrockClaude({ region: 'us-west-2', endpoint: emu.url, provider });
    for (let i = 0; i < 3; i++) {
      const m = await claude.messages.create({
        model: 'claude-haiku-4-5',
        max_tokens: 20,
        messages: [{ role: 'user', content: `round ${i}` }],
      });
      assert.deepEqual(m['content'], [{ type: 'text', text: `round ${i}` }]);
      await new Promise((r) => setTimeout(r, 800));
    }
    assert.ok(generation >= 2, `credentials were refreshed (${generation})`);
    await claude.close();
  });
});

describe('createBedrockClaude', () => {
  it('mirrors the SDK: create, stream, countTokens, with any model name', async () => {
    const claude = createBedrockClaude({ region: 'eu-west-1', scope: 'geo', endpoint: emu.url, ...CREDS });
    assert.equal(claude.resolve('sonnet-4.5').modelId, 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0');
    const m = await claude.messages.create({
      model: 'sonnet-4.5',
      max_tokens: 20,
      messages: [{ role: 'user', content: 'lib' }],
    });
    assert.equal(m['model'], 'claude-sonnet-4-5-20250929');
    let text = '';
    for await (const e of claude.messages.stream({
      model: 'opus-4.6',
      max_tokens: 20,
      messages: [{ role: 'user', content: 'streamed' }],
    })) {
      if (e['type'] === 'content_block_delta') text += (e['delta'] as { text: string }).text;
    }
    assert.equal(text, 'streamed');
    assert.ok(
      (await claude.messages.countTokens({ model: 'opus-4.6', messages: [{ role: 'user', content: 'count me' }] }))
        .input_tokens > 0,
    );
    await assert.rejects(
      claude.messages.create({ model: 'claude-haiku-4-5', max_tokens: 5, messages: [] }),
      /Haiku 4.5.*not offered|messages/,
    );
    await assert.rejects(async () => {
      for await (const _ of claude.messages.stream(
        { model: 'opus-4.6', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] },
        { headers: { 'x-emulator-fault': 'midstream' } },
      ))
        void _;
    }, /interrupted/);
    await assert.rejects(claude.messages.create({ max_tokens: 5 } as never), /model/);
    await claude.close();
  });
});
