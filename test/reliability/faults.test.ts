/** Faults survived: what the client and the upstream saw, with the emulator's fault injection as the failing upstream. */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import Anthropic, { APIError, InternalServerError, RateLimitError } from '@anthropic-ai/sdk';
import pino from 'pino';
import { request, type Dispatcher } from 'undici';
import { createCredentialCache } from '../../src/aws/credentials.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { startGateway, type GatewayOptions, type RunningGateway } from '../../src/server/gateway.js';
import { CREDS } from '../helpers.js';

const SONNET_US = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
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
const auth = () => ({ kind: 'sigv4' as const, credentials: createCredentialCache(CREDS) });
const twoRegions = {
  failover: [
    { region: 'us-east-1', modelId: SONNET_US },
    { region: 'us-west-2', modelId: SONNET_US },
  ],
};
const msg = (content = 'hi', extra: Record<string, unknown> = {}) => ({
  model: 'failover',
  max_tokens: 50,
  messages: [{ role: 'user' as const, content }],
  ...extra,
});

let emu: RunningEmulator;
const gateways: RunningGateway[] = [];
async function gateway(extra: Partial<GatewayOptions> = {}): Promise<RunningGateway> {
  const g = await startGateway({
    port: 0,
    region: 'us-west-2',
    auth: auth(),
    endpoint: emu.url,
    routes: twoRegions,
    retry: { max: 2, baseMs: 1, capMs: 5 },
    logger,
    ...extra,
  });
  gateways.push(g);
  return g;
}
const client = (g: RunningGateway) => new Anthropic({ apiKey: 'unused', baseURL: g.url, maxRetries: 0 });
const seen = (since: number, region?: string) =>
  emu.received.slice(since).filter((r) => !region || r.region === region).length;

before(async () => {
  emu = await startEmulator({ port: 0, keepReceived: 10_000 });
});
after(async () => {
  for (const g of gateways) await g.close(100);
  await emu.close();
});

describe('faults: throttling, 5xx, unavailable', () => {
  it('retries throttling with backoff, fails over, then answers 429 rate_limit_error with retry-after', async () => {
    const g = await gateway();
    emu.setFaults('us-east-1:throttle=1');
    try {
      let n = emu.received.length;
      const m = await client(g).messages.create(msg('throttled first'));
      assert.equal((m.content[0] as { text: string }).text, 'throttled first');
      assert.equal(seen(n, 'us-east-1'), 3, 'one try and two retries on the first target');
      assert.equal(seen(n, 'us-west-2'), 1, 'then the second target');
      emu.setFaults('throttle=1');
      n = emu.received.length;
      const err = await client(g)
        .messages.create(msg())
        .catch((e: unknown) => e);
      assert.ok(err instanceof RateLimitError);
      assert.equal((err.error as { error: { type: string } }).error.type, 'rate_limit_error');
      assert.ok(err.headers?.get('retry-after'));
      assert.equal(seen(n), 6, 'three tries on each of two targets');
    } finally {
      emu.setFaults(undefined);
    }
  });
  it('5xx maps to api_error and service-unavailable to overloaded_error, after the same retries and failover', async () => {
    const g = await gateway();
    for (const [fault, status, type] of [
      ['error500', 500, 'api_error'],
      ['unavailable', 529, 'overloaded_error'],
    ] as const) {
      emu.setFaults(`${fault}=1`);
      try {
        const n = emu.received.length;
        const err = (await client(g)
          .messages.create(msg())
          .catch((e: unknown) => e)) as APIError;
        assert.ok(err instanceof APIError);
        assert.equal(err.status, status);
        assert.equal((err.error as { error: { type: string } }).error.type, type);
        assert.equal(seen(n), 6);
      } finally {
        emu.setFaults(undefined);
      }
    }
  });
});

describe('faults: mid-stream', () => {
  it("the client gets an SSE error event with Bedrock's message, no retry, and the partial usage is logged and counted", async () => {
    const g = await gateway();
    emu.setFaults('midstream=1');
    try {
      const n = emu.received.length;
      const res = await request(`${g.url}/v1/messages`, {
        method: 'POST',
        body: JSON.stringify(msg('stream me', { stream: true })),
      });
      const text = await res.body.text();
      assert.equal(res.statusCode, 200);
      assert.match(text, /event: message_start/);
      assert.match(
        text,
        /event: error\ndata: \{"type":"error","error":\{"type":"api_error","message":"The model stream was interrupted: emulated mid-stream fault\."\}\}/,
      );
      assert.equal(seen(n), 1, 'no retry once bytes were sent');
      await new Promise((r) => setTimeout(r, 20));
      const line = logs.findLast((l) => l['path'] === '/v1/messages')!;
      assert.equal(line['error'], 'api_error');
      assert.ok((line['inputTokens'] as number) > 0, 'partial usage logged');
      const metrics = await (await request(`${g.url}/metrics`)).body.text();
      assert.match(metrics, /bedrock_claude_tokens_total\{direction="input",model="[\w.-]+",team="none"\} [1-9]/);
    } finally {
      emu.setFaults(undefined);
    }
  });
});

describe('faults: resets and a dead upstream', () => {
  it('a connection reset is an error, then requests recover', async () => {
    const g = await gateway({ retry: { max: 0 } });
    emu.setFaults('reset=1');
    try {
      const err = await client(g)
        .messages.create(msg())
        .catch((e: unknown) => e);
      assert.ok(err instanceof InternalServerError || (err as APIError).status === 502, String(err));
    } finally {
      emu.setFaults(undefined);
    }
    assert.equal((await client(g).messages.create(msg('after reset'))).content.length, 1);
  });
  it('the emulator stopped, then restarted on the same port: errors, then recovery without restarting the gateway', async () => {
    const own = await startEmulator({ port: 0 });
    const port = own.port;
    const g = await gateway({ endpoint: own.url, routes: {}, retry: { max: 0 } });
    assert.equal((await client(g).messages.create({ ...msg('before'), model: 'claude-haiku-4-5' })).content.length, 1);
    await own.close();
    const err = (await client(g)
      .messages.create({ ...msg(), model: 'claude-haiku-4-5' })
      .catch((e: unknown) => e)) as APIError;
    assert.ok(err instanceof APIError);
    assert.match(JSON.stringify(err.error), /Could not reach Bedrock/);
    const again = await startEmulator({ port });
    try {
      const m = await client(g).messages.create({ ...msg('after restart'), model: 'claude-haiku-4-5' });
      assert.equal((m.content[0] as { text: string }).text, 'after restart');
    } finally {
      await again.close();
    }
  });
});

describe('faults: slow first byte and stalled streams', () => {
  it('a slow first byte times out and fails over before the first byte', async () => {
    const g = await gateway({ limits: { firstByteMs: 150 }, retry: { max: 0 } });
    emu.setFaults('us-east-1:ttfb=400ms');
    try {
      const n = emu.received.length;
      const m = await client(g).messages.create(msg('slow first'));
      assert.equal((m.content[0] as { text: string }).text, 'slow first');
      assert.equal(seen(n, 'us-west-2'), 1);
    } finally {
      emu.setFaults(undefined);
    }
  });
  it('a stalled stream times out with an SSE error, and is not retried after bytes were sent', async () => {
    const g = await gateway({ limits: { idleMs: 100 }, retry: { max: 0 } });
    emu.setFaults('gap=400ms');
    try {
      const n = emu.received.length;
      const res = await request(`${g.url}/v1/messages`, {
        method: 'POST',
        body: JSON.stringify(msg('stall', { stream: true })),
      });
      const text = await res.body.text();
      assert.match(text, /event: message_start/);
      assert.match(text, /event: error\ndata: .*"timeout_error"/);
      assert.equal(seen(n), 1);
    } finally {
      emu.setFaults(undefined);
    }
  });
});

describe('faults: client disconnect', () => {
  it('aborts the upstream request within 100 ms, and leaks no socket or request', async () => {
    // An emulator of its own, so no other connection moves the count.
    const own = await startEmulator({ port: 0, faults: 'gap=200ms' });
    // One upstream request at a time: a stream left unfinished would keep its slot and stall the next request.
    const g = await gateway({ endpoint: own.url, routes: {}, limits: { upstreamConcurrency: 1 } });
    try {
      const res = await request(`${g.url}/v1/messages`, {
        method: 'POST',
        body: JSON.stringify({ ...msg('disconnect me', { stream: true }), model: 'claude-haiku-4-5' }),
      });
      const it = (res.body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
      await it.next(); // the first bytes arrived: the stream is open end to end
      assert.equal(own.openConnections(), 1);
      const t0 = performance.now();
      res.body.destroy();
      let elapsed = Infinity;
      while (performance.now() - t0 < 1000) {
        if (own.openConnections() === 0) {
          elapsed = performance.now() - t0;
          break;
        }
        await new Promise((r) => setTimeout(r, 2));
      }
      assert.ok(elapsed <= 100, `upstream closed after ${elapsed.toFixed(1)} ms`);
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(g.inFlight(), 0, 'no request left in flight');
      const line = logs.findLast((l) => l['path'] === '/v1/messages')!;
      assert.equal(line['error'], 'client_closed');
      // The gateway's upstream pool holds no connection to the emulator any more, and the next request
      // works: the abandoned stream gave back its upstream slot.
      const m = await client(g).messages.create({ ...msg('still fine'), model: 'claude-haiku-4-5' }, { timeout: 2000 });
      assert.equal((m.content[0] as { text: string }).text, 'still fine');
    } finally {
      await own.close();
    }
  });
});

describe('faults: client disconnect before the first byte', () => {
  it('aborts the upstream request that is still waiting for its answer', async () => {
    const own = await startEmulator({ port: 0, faults: 'ttfb=2000ms' });
    const g = await gateway({ endpoint: own.url, routes: {} });
    try {
      const aborted = new AbortController();
      const pending = request(`${g.url}/v1/messages`, {
        method: 'POST',
        body: JSON.stringify({ ...msg('never mind', { stream: true }), model: 'claude-haiku-4-5' }),
        signal: aborted.signal,
      }).catch((err: Error) => err);
      while (own.openConnections() === 0) await new Promise((r) => setTimeout(r, 2)); // the request reached upstream
      const t0 = performance.now();
      aborted.abort();
      assert.ok((await pending) instanceof Error);
      while (own.openConnections() > 0 && performance.now() - t0 < 1000) await new Promise((r) => setTimeout(r, 2));
      assert.ok(performance.now() - t0 < 500, 'the upstream connection closed long before the 2 s answer');
      while (g.inFlight() > 0 && performance.now() - t0 < 1000) await new Promise((r) => setTimeout(r, 2));
      assert.equal(g.inFlight(), 0, 'no request left in flight');
    } finally {
      await own.close();
    }
  });
});

describe('faults: expiring credentials', () => {
  it('keeps succeeding across the expiry without a restart', async () => {
    // The credentials' clock is driven: each step moves it half a second; they live 1.2 s.
    let now = Date.UTC(2026, 11, 6, 12);
    let fetched = 0;
    const provider = async () => {
      fetched++;
      return { ...CREDS, sessionToken: undefined as unknown as string, expiration: new Date(now + 1200) };
    };
    const credentials = createCredentialCache({ provider, now: () => now });
    const g = await gateway({ auth: { kind: 'sigv4', credentials }, routes: {} });
    for (let i = 0; i < 4; i++) {
      const m = await client(g).messages.create({ ...msg(`tick ${i}`), model: 'claude-haiku-4-5' });
      assert.equal((m.content[0] as { text: string }).text, `tick ${i}`);
      now += 500;
    }
    assert.ok(fetched >= 2, `credentials were fetched ${fetched} times`);
  });
});

export type { Dispatcher };
