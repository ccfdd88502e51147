// Rate limits, concurrency and budgets, in process: a fake upstream, a clock the test moves, the
// in-memory counters. Then 64 concurrent streams through a real gateway against a small budget.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Anthropic, { PermissionDeniedError } from '@anthropic-ai/sdk';
import pino from 'pino';
import { createCredentialCache } from '../../src/aws/credentials.js';
import { getDefaultCatalog } from '../../src/catalog/catalog.js';
import { estimateInputTokens } from '../../src/check/estimate-tokens.js';
import { createMemoryCounterStore } from '../../src/control/counter-store.js';
import type { KeyStore } from '../../src/control/key-store.js';
import type { TeamRecord } from '../../src/control/records.js';
import { openSqliteControlStore } from '../../src/control/sqlite-store.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { createGatewayApp, type GatewayDeps } from '../../src/server/app.js';
import { createModelFronts } from '../../src/server/gateway.js';
import { hashKey, type GatewayKey } from '../../src/control/gateway-keys.js';
import { startGateway } from '../../src/server/gateway.js';
import { createRouter } from '../../src/server/targets.js';
import type { UsageRecord, UsageSink } from '../../src/control/usage-record.js';
import type { MessagesResult, Target, Upstream } from '../../src/transport/bedrock-transport.js';
import type { AnthropicHttpRequest } from '../../src/translate/to-bedrock.js';
import { CREDS, tempHome } from '../helpers.js';

const catalog = getDefaultCatalog();
const START = Date.UTC(2026, 11, 1, 10);

/**
 * An upstream whose answers say `outputTokens` were used; `hold` keeps them waiting until released,
 * and `reached(n)` resolves once n calls are waiting there (admitted past every limit).
 */
function upstream(outputTokens = 10) {
  const waiting: Array<() => void> = [];
  const watchers: Array<{ n: number; resolve: () => void }> = [];
  let held = false;
  const u: Upstream = {
    async messages(request: AnthropicHttpRequest, targets: readonly Target[]): Promise<MessagesResult> {
      if (held) {
        const released = new Promise<void>((r) => waiting.push(r));
        for (const w of watchers.filter((x) => x.n <= waiting.length)) w.resolve();
        await released;
      }
      const usage = { input_tokens: estimateInputTokens(request.body), output_tokens: outputTokens };
      const body = {
        id: 'msg',
        type: 'message',
        role: 'assistant',
        content: [{ type: 'text', text: 'ok' }],
        stop_reason: 'end_turn',
        usage,
      };
      return {
        kind: 'json',
        body,
        usage,
        raw: Buffer.from(JSON.stringify(body)),
        target: targets[0]!,
        attempts: 1,
        removals: [],
        ttfbMs: 1,
        headers: {},
      };
    },
    close: async () => undefined,
  };
  const reached = (n: number) =>
    waiting.length >= n ? Promise.resolve() : new Promise<void>((resolve) => watchers.push({ n, resolve }));
  return {
    u,
    reached,
    hold: () => void (held = true),
    release: () => {
      held = false;
      for (const r of waiting.splice(0)) r();
    },
  };
}

function setup(
  key: Omit<GatewayKey, 'sha256'>,
  teams: TeamRecord[] = [],
  outputTokens = 10,
  extra: Pick<GatewayDeps, 'onFailure'> & { sinks?: UsageSink[] } = {},
) {
  let now = START;
  const secret = `bck-${key.name}`;
  const known: GatewayKey = Object.assign({ sha256: hashKey(secret) }, key);
  const keys: KeyStore = {
    enabled: () => true,
    find: async (p) => (p === secret ? known : undefined),
    team: (n) => teams.find((t) => t.name === n),
  };
  const records: UsageRecord[] = [];
  const up = upstream(outputTokens);
  const router = createRouter({ catalog, region: 'us-west-2', scope: 'global' });
  const app = createGatewayApp({
    catalog,
    router,
    fronts: createModelFronts({ catalog, router, region: 'us-west-2' }),
    upstream: up.u,
    keys,
    sinks: [...(extra.sinks ?? []), { record: (u) => void records.push(structuredClone(u)) }],
    onFailure: extra.onFailure,
    logger: pino({ level: 'silent' }),
    region: 'us-west-2',
    scope: 'global',
    policy: 'drop',
    bodyLimit: 1_000_000,
    ops: { openCircuits: () => [], metrics: async () => ({ contentType: 'text/plain', text: '' }) },
    enforcement: {
      counters: createMemoryCounterStore(),
      team: (n) => keys.team!(n),
      spentSince: async () => 0,
      catalog,
      timeZone: 'UTC',
      clock: () => now,
    },
  });
  const call = (extra: Record<string, unknown> = {}, path = '/v1/messages') =>
    app.request(path, {
      headers: { 'x-api-key': secret },
      body: JSON.stringify(
        Object.assign(
          { model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] },
          extra,
        ),
      ),
    });
  return { app, call, records, up, tick: (ms: number) => void (now += ms) };
}

describe('rate limits', () => {
  it("requests per minute: a token bucket refilled continuously, with the Anthropic API's headers and retry-after", async () => {
    const { call, records, tick } = setup({ name: 'rpm3', id: 'key_1', limits: { rpm: 3 } });
    for (let i = 0; i < 3; i++) {
      const ok = await call();
      assert.equal(ok.status, 200);
      assert.equal(ok.headers['anthropic-ratelimit-requests-limit'], '3');
      assert.equal(ok.headers['anthropic-ratelimit-requests-remaining'], String(2 - i));
    }
    const refused = await call();
    assert.equal(refused.status, 429);
    assert.equal(refused.json<{ error: { type: string; message: string } }>().error.type, 'rate_limit_error');
    assert.match(
      refused.json<{ error: { message: string } }>().error.message,
      /key "rpm3" is over its limit of 3 requests per minute/,
    );
    assert.equal(refused.headers['retry-after'], '20', 'one request every 20 s');
    assert.equal(refused.headers['anthropic-ratelimit-requests-remaining'], '0');
    assert.equal(
      refused.headers['anthropic-ratelimit-requests-reset'],
      new Date(START + 60_000).toISOString().replace('.000', ''),
    );
    assert.equal(records.at(-1)!.reason, 'rate_limit:rpm');
    tick(20_000);
    assert.equal((await call()).status, 200, 'refilled one token 20 s later');
  });
  it('the Bedrock front answers ThrottlingException', async () => {
    const { app, call } = setup({ name: 'rpm1', id: 'key_2', limits: { rpm: 1 } });
    await call();
    const res = await app.request('/model/global.anthropic.claude-haiku-4-5-20251001-v1:0/invoke', {
      headers: { 'x-api-key': 'bck-rpm1' },
      body: JSON.stringify({
        anthropic_version: 'bedrock-2023-05-31',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'x' }],
      }),
    });
    assert.equal(res.status, 429);
    assert.match(res.headers['x-amzn-errortype']!, /^ThrottlingException:/);
  });
  it('concurrency over its limit is refused at once, and a finished request frees its slot', async () => {
    const { call, up } = setup({ name: 'two', id: 'key_3', limits: { concurrency: 2 } });
    up.hold();
    const a = call();
    const b = call();
    await up.reached(2);
    const third = await call();
    assert.equal(third.status, 429);
    assert.match(
      third.json<{ error: { message: string } }>().error.message,
      /2 requests in flight, its limit: this one is refused, not queued/,
    );
    up.release();
    assert.deepEqual([(await a).status, (await b).status], [200, 200]);
    assert.equal((await call()).status, 200);
  });
  it('output tokens are counted from max_tokens up front and settled to the real count', async () => {
    const { call, tick } = setup({ name: 'otpm', id: 'key_4', limits: { otpm: 1000 } }, [], 100);
    const first = await call({ max_tokens: 600 });
    assert.equal(first.status, 200);
    // 600 taken up front, 100 used: 500 given back, so 900 are left (not 400).
    const second = await call({ max_tokens: 800 });
    assert.equal(second.status, 200);
    assert.equal(second.headers['anthropic-ratelimit-output-tokens-remaining'], '100', '900 - 800 while it runs');
    assert.equal(
      second.headers['anthropic-ratelimit-tokens-remaining'],
      '100',
      'tokens: the tighter of input and output',
    );
    assert.equal(second.headers['anthropic-ratelimit-tokens-limit'], '1000');
    // Settled again: 700 back, 800 left.
    const third = await call({ max_tokens: 900 });
    assert.equal(third.status, 429);
    assert.match(
      third.json<{ error: { message: string } }>().error.message,
      /limit of 1000 output tokens per minute \(this request counts 900\)/,
    );
    assert.equal((await call({ max_tokens: 800 })).status, 200);
    tick(60_000);
    assert.equal((await call({ max_tokens: 1000 })).status, 200, 'full again a minute later');
  });
  it("a team's limit applies to every key of the team, the tighter of the two", async () => {
    const team: TeamRecord = {
      name: 'platform',
      created: START,
      budget: undefined,
      limits: { rpm: 2 },
      groups: [],
      models: undefined,
    };
    const { call } = setup({ name: 'member', id: 'key_5', team: 'platform', limits: { rpm: 100 } }, [team]);
    assert.equal((await call()).status, 200);
    assert.equal((await call()).status, 200);
    const refused = await call();
    assert.equal(refused.status, 429);
    assert.match(
      refused.json<{ error: { message: string } }>().error.message,
      /team "platform" is over its limit of 2 requests per minute/,
    );
  });
});

describe('budgets', () => {
  it('reserves the worst case before the call, settles to the real cost, and refuses with 403 naming the spend, the budget and the reset', async () => {
    // Haiku 4.5: $1 in, $5 out per million. max_tokens 1000: a reservation of about $0.005; each call really costs about $0.00005.
    const { call, up, records } = setup({ name: 'small', id: 'key_6', budget: { usd: 0.012, period: 'day' } });
    up.hold();
    const inFlight = [call({ max_tokens: 1000 }), call({ max_tokens: 1000 })];
    await up.reached(2);
    const refused = await call({ max_tokens: 1000 });
    assert.equal(refused.status, 403);
    const e = refused.json<{ error: { type: string; message: string } }>().error;
    assert.equal(e.type, 'permission_error');
    assert.match(
      e.message,
      /This request could cost up to \$0\.005\d*, more than the \$0\.00\d+ left of the budget of key "small": \$0\.01\d* of \$0\.012 this day \(with the requests in flight\); it resets at 2026-12-02T00:00:00\.000Z/,
    );
    assert.match(e.message, /Fix: Lower max_tokens/);
    assert.equal(records.at(-1)!.reason, 'budget:key');
    up.release();
    for (const r of await Promise.all(inFlight)) assert.equal(r.status, 200);
    // Settled: each cost ~$0.00006, so the budget has room for two worst cases again.
    assert.equal((await call({ max_tokens: 1000 })).status, 200);
    const spent = records.filter((r) => r.status === 200).reduce((a, r) => a + (r.costUsd ?? 0), 0);
    assert.ok(spent > 0 && spent < 0.001);
  });
  it('a team budget holds across its keys', async () => {
    const team: TeamRecord = {
      name: 'ml',
      created: START,
      budget: { usd: 0.006, period: 'month' },
      limits: {},
      groups: [],
      models: undefined,
    };
    const { call, up } = setup({ name: 'k1', id: 'key_7', team: 'ml' }, [team]);
    up.hold();
    const first = call({ max_tokens: 1000 });
    await up.reached(1);
    const second = await call({ max_tokens: 1000 });
    assert.equal(second.status, 403);
    assert.match(
      second.json<{ error: { message: string } }>().error.message,
      /left of the budget of team "ml".*this month.*resets at 2027-01-01T00:00:00\.000Z/,
    );
    up.release();
    assert.equal((await first).status, 200);
  });
});

describe('a small budget under 64 concurrent streams, through a real gateway', () => {
  let emu: RunningEmulator;
  before(async () => {
    emu = await startEmulator({ port: 0, faults: 'gap=5ms' });
  });
  after(() => emu.close());
  it('ends with the recorded spend at or under the budget (slack: the input estimate of requests in flight)', async () => {
    const dir = join(tempHome(), 'budget');
    const store = openSqliteControlStore(dir);
    const budget = 0.02;
    const { key } = await store.createKey({ name: 'tight', budget: { usd: budget, period: 'total' } }, Date.now());
    const gw = await startGateway({
      port: 0,
      region: 'us-west-2',
      auth: { kind: 'sigv4', credentials: createCredentialCache(CREDS) },
      endpoint: emu.url,
      dataDir: dir,
      retry: { max: 0 },
      logger: pino({ level: 'silent' }),
    });
    const client = new Anthropic({ apiKey: key, baseURL: gw.url, maxRetries: 0 });
    const outcomes: string[] = [];
    const one = async () => {
      try {
        const stream = client.messages.stream({
          model: 'claude-haiku-4-5',
          max_tokens: 800,
          messages: [
            { role: 'user', content: 'spend a little of the budget on this stream, word by word '.repeat(20) },
          ],
        });
        await stream.finalMessage();
        outcomes.push('ok');
      } catch (err) {
        outcomes.push(err instanceof PermissionDeniedError ? 'budget' : `other: ${(err as Error).message}`);
      }
    };
    for (let round = 0; round < 3; round++) await Promise.all(Array.from({ length: 64 }, one));
    await gw.close(1000);
    const rows = await store.requests({ since: 0, until: Date.now() + 1, limit: 10_000 });
    await store.close();
    const spent = rows.reduce((a, r) => a + r.costUsd, 0);
    assert.ok(
      outcomes.includes('ok') && outcomes.includes('budget'),
      `some answered, some refused: ${[...new Set(outcomes)].join(', ')}`,
    );
    assert.deepEqual(
      outcomes.filter((o) => o.startsWith('other')),
      [],
    );
    assert.equal(rows.length, 192, 'every request is in the ledger, refused ones too');
    assert.ok(spent <= budget, `spent $${spent.toFixed(6)} of a $${budget} budget`);
    assert.ok(spent > budget * 0.5, `the budget was used, not refused too early: $${spent.toFixed(6)}`);
  });
});

describe('usage sinks and finishers are isolated', () => {
  it('a sink that throws (a full disk) changes no answer and skips no settlement: the concurrency slot comes back', async () => {
    const failures: string[] = [];
    const full: UsageSink = {
      record() {
        throw new Error('ENOSPC: no space left on device');
      },
    };
    const { call, records } = setup({ name: 'one-slot', id: 'key_iso', limits: { concurrency: 1 } }, [], 10, {
      sinks: [full],
      onFailure: (where) => failures.push(where),
    });
    for (let i = 0; i < 3; i++) {
      const res = await call();
      assert.equal(res.status, 200, 'the answer as it was');
      assert.equal(res.json<{ content: Array<{ text: string }> }>().content[0]!.text, 'ok');
    }
    assert.equal(records.length, 3, 'the sink after the failing one got every record');
    assert.deepEqual(failures, ['usage_sink', 'usage_sink', 'usage_sink'], 'each failure said');
  });
});

describe('models the catalog cannot price (issue 25, item 2)', () => {
  const ARN = 'arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/a1b2c3d4e5f6';
  it('are refused for a key with a budget, saying how to get a price', async () => {
    const { call, records } = setup({ name: 'tiny', id: 'key_unpriced', budget: { usd: 0.0001, period: 'day' } });
    const res = await call({ model: ARN, max_tokens: 64_000 });
    assert.equal(res.status, 400);
    const error = res.json<{ error: { type: string; message: string } }>().error;
    assert.equal(error.type, 'invalid_request_error');
    assert.match(error.message, /has no price bedrock-claude knows, and key "tiny" has a budget/);
    assert.match(error.message, /bedrock-claude models/);
    assert.equal(records.at(-1)!.status, 400, 'the refusal is in the ledger');
  });
  it('a key without a budget may still call them (no price to keep)', async () => {
    const { call } = setup({ name: 'free', id: 'key_nobudget' });
    assert.equal((await call({ model: ARN })).status, 200);
  });
});
