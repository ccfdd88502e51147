// Ledger cost equal to the hand-computed cost, through a real gateway on the emulator's prompt
// cache: plain, a 5-minute cache write, a 1-hour write, a read, long context, global against geo,
// and the 5m/1h split worked out by the gateway when the upstream reports only the total.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import pino from 'pino';
import { createCredentialCache } from '../../src/aws/credentials.js';
import type { LedgerRow } from '../../src/control/control-store.js';
import { openSqliteControlStore } from '../../src/control/sqlite-store.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { startGateway, type RunningGateway } from '../../src/server/gateway.js';
import { CREDS, tempHome } from '../helpers.js';

// Sonnet 4.5, USD per million tokens: input, output, cache write 5m, cache write 1h, cache read; and over 200K input.
const SONNET = { input: 3, output: 15, w5: 3.75, w1: 6, read: 0.3 };
const SONNET_LONG = { input: 6, output: 22.5, w5: 7.5, w1: 12, read: 0.6 };

function handCost(r: LedgerRow, multiplier = 1): number {
  const long = r.inputTokens + r.cacheReadTokens + r.cacheWrite5mTokens + r.cacheWrite1hTokens > 200_000;
  const p = long ? SONNET_LONG : SONNET;
  const usd =
    ((r.inputTokens * p.input +
      r.outputTokens * p.output +
      r.cacheWrite5mTokens * p.w5 +
      r.cacheWrite1hTokens * p.w1 +
      r.cacheReadTokens * p.read) /
      1e6) *
    multiplier;
  return Math.round(usd * 1e10) / 1e10;
}

interface Setup {
  emu: RunningEmulator;
  gw: RunningGateway;
  client: Anthropic;
  dir: string;
}

async function setup(opts: { scope?: 'global' | 'geo'; reportCacheSplit?: boolean } = {}): Promise<Setup> {
  const emu = await startEmulator({ port: 0, reportCacheSplit: opts.reportCacheSplit ?? true });
  const dir = join(tempHome(), 'cost');
  const gw = await startGateway({
    port: 0,
    region: 'us-west-2',
    scope: opts.scope ?? 'global',
    auth: { kind: 'sigv4', credentials: createCredentialCache(CREDS) },
    endpoint: emu.url,
    dataDir: dir,
    retry: { max: 0 },
    logger: pino({ level: 'silent' }),
  });
  return { emu, gw, client: new Anthropic({ apiKey: 'unused', baseURL: gw.url, maxRetries: 0 }), dir };
}

async function ledger(s: Setup): Promise<LedgerRow[]> {
  await s.gw.close(100);
  await s.emu.close();
  const store = openSqliteControlStore(s.dir);
  const rows = (await store.requests({ since: 0, until: Date.now() + 1, limit: 100 })).reverse();
  await store.close();
  return rows;
}

const system = (text: string, ttl?: '1h') => [
  {
    type: 'text' as const,
    text,
    cache_control: ttl ? { type: 'ephemeral' as const, ttl } : { type: 'ephemeral' as const },
  },
];
const ask = (s: Setup, extra: Record<string, unknown>, headers: Record<string, string> = {}) =>
  s.client.messages.create(
    Object.assign(
      { model: 'claude-sonnet-4-5', max_tokens: 50, messages: [{ role: 'user' as const, content: 'price this' }] },
      extra,
    ) as Parameters<Anthropic['messages']['create']>[0] & { stream?: false },
    { headers },
  );

describe('ledger cost, by hand', () => {
  let s: Setup;
  before(async () => {
    s = await setup();
  });
  after(async () => undefined);

  it('plain, cache write 5m, cache read, cache write 1h, long context: the ledger says what the prices say', async () => {
    await ask(s, {});
    const first = await ask(s, { system: system('You are a careful assistant. '.repeat(400)) });
    const again = await ask(s, { system: system('You are a careful assistant. '.repeat(400)) });
    const hour = await ask(s, { system: system('You answer in haiku only, always. '.repeat(400), '1h') });
    const long = await ask(
      s,
      { messages: [{ role: 'user', content: 'long context '.repeat(80_000) }] },
      { 'anthropic-beta': 'context-1m-2025-08-07' },
    );
    assert.equal(first.usage.cache_creation_input_tokens! > 1024, true, 'the emulator wrote the prefix');
    assert.equal(again.usage.cache_read_input_tokens, first.usage.cache_creation_input_tokens, 'and read it back');
    assert.equal(
      (hour.usage as { cache_creation?: { ephemeral_1h_input_tokens: number } }).cache_creation
        ?.ephemeral_1h_input_tokens,
      hour.usage.cache_creation_input_tokens,
    );
    const rows = await ledger(s);
    assert.equal(rows.length, 5);
    const [rPlain, rWrite, rRead, rHour, rLong] = rows as [LedgerRow, LedgerRow, LedgerRow, LedgerRow, LedgerRow];
    assert.deepEqual([rPlain.cacheWrite5mTokens, rPlain.cacheReadTokens], [0, 0]);
    assert.equal(rWrite.cacheWrite5mTokens, first.usage.cache_creation_input_tokens);
    assert.equal(rRead.cacheReadTokens, again.usage.cache_read_input_tokens);
    assert.deepEqual([rHour.cacheWrite1hTokens, rHour.cacheWrite5mTokens], [hour.usage.cache_creation_input_tokens, 0]);
    assert.ok(rLong.inputTokens > 200_000);
    assert.equal(rLong.inputTokens, long.usage.input_tokens);
    for (const r of rows) assert.equal(r.costUsd, handCost(r), `${r.requestId}: ${JSON.stringify(r)}`);
    // The figures, so a reader can check them: plain 35 in / 3 out tokens and so on.
    assert.ok(rRead.costUsd < rWrite.costUsd, 'a read costs less than the write');
    assert.ok(rHour.costUsd > rWrite.costUsd, 'a 1-hour write costs more than a 5-minute one');
  });
});

describe('ledger cost, global against geo', () => {
  it('a geo profile costs 10% more for the same usage', async () => {
    const g = await setup({ scope: 'global' });
    const e = await setup({ scope: 'geo' });
    await ask(g, {});
    await ask(e, {});
    const [global] = await ledger(g);
    const [geo] = await ledger(e);
    assert.equal(global!.bedrockModel, 'global.anthropic.claude-sonnet-4-5-20250929-v1:0');
    assert.equal(geo!.bedrockModel, 'us.anthropic.claude-sonnet-4-5-20250929-v1:0');
    assert.deepEqual([global!.scope, geo!.scope], ['global', 'geo']);
    assert.equal(global!.costUsd, handCost(global!));
    assert.equal(geo!.costUsd, handCost(geo!, 1.1));
  });
});

describe('ledger cost, when the upstream reports cache writes only in total', () => {
  it("the gateway splits them by the request's breakpoints", async () => {
    const s = await setup({ reportCacheSplit: false });
    const res = await ask(s, { system: system('Split me by the hour. '.repeat(500), '1h') });
    assert.equal((res.usage as { cache_creation?: unknown }).cache_creation ?? null, null, 'no split from upstream');
    const [row] = await ledger(s);
    assert.deepEqual([row!.cacheWrite1hTokens, row!.cacheWrite5mTokens], [res.usage.cache_creation_input_tokens, 0]);
    assert.equal(row!.costUsd, handCost(row!));
  });
});
