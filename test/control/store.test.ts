import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Anthropic, { AuthenticationError } from '@anthropic-ai/sdk';
import Database from 'better-sqlite3';
import { createCredentialCache } from '../../src/aws/credentials.js';
import { createLedgerSink, createThreadedLedgerSink, ledgerRowOf, ledgerValuesOf } from '../../src/control/ledger-sink.js';
import { MIGRATIONS } from '../../src/control/migrations.js';
import { ledgerValues, openControlStore, storePath, type LedgerRow } from '../../src/control/sqlite-store.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { startGateway } from '../../src/server/gateway.js';
import { newUsageRecord } from '../../src/server/usage.js';
import { CREDS, tempHome } from '../helpers.js';

const T0 = Date.UTC(2026, 10, 20, 12);

function row(id: string, extra: Partial<LedgerRow> = {}): LedgerRow {
  const u = newUsageRecord('POST', 'anthropic', '/v1/messages', '/v1/messages', T0);
  u.requestId = id;
  u.status = 200;
  return Object.assign(ledgerRowOf(u), extra);
}

describe('embedded store: schema', () => {
  it('migrates a new data directory, and opens it again without migrating twice', () => {
    const dir = join(tempHome(), 'data');
    openControlStore(dir).close();
    const db = new Database(storePath(dir));
    assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
    const again = openControlStore(dir);
    assert.deepEqual(again.listKeys(), []);
    again.close();
  });
  it('refuses a schema newer than it knows, saying what to do', () => {
    const dir = join(tempHome(), 'newer');
    openControlStore(dir).close();
    const db = new Database(storePath(dir));
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    assert.throws(() => openControlStore(dir), /schema version 3, newer than this bedrock-claude knows \(2\): upgrade bedrock-claude/);
  });
  it('says so when the data directory is a file', () => {
    const file = join(tempHome(), 'a-file');
    writeFileSync(file, 'x');
    assert.throws(() => openControlStore(file), /the data directory .* cannot be written \((EEXIST|ENOTDIR)\)/);
  });
});

describe('embedded store: keys and teams', () => {
  it('creates a key whose secret is kept only as its hash, with budget, limits, team and expiry', () => {
    const store = openControlStore(join(tempHome(), 'd'));
    store.createTeam({ name: 'platform', budget: { usd: 100, period: 'month' }, limits: { rpm: 600 } }, T0);
    const { key, record } = store.createKey({ name: 'alice-laptop', user: 'alice', team: 'platform', models: ['claude-haiku-*'], budget: { usd: 5, period: 'day' }, limits: { rpm: 60, concurrency: 2 }, expires: T0 + 86_400_000 }, T0);
    assert.match(key, /^bck-/);
    assert.match(record.id, /^key_/);
    assert.deepEqual([record.user, record.team, record.models, record.budget, record.limits.rpm, record.limits.concurrency, record.limits.itpm], ['alice', 'platform', ['claude-haiku-*'], { usd: 5, period: 'day' }, 60, 2, undefined]);
    assert.ok(!JSON.stringify(store.listKeys()).includes(key), 'the secret is nowhere in the store');
    assert.throws(() => store.createKey({ name: 'alice-laptop' }, T0), /a key named "alice-laptop" exists already/);
    assert.throws(() => store.createKey({ name: 'x', team: 'nope' }, T0), /no team "nope": create it first/);
    const before = store.changes();
    const changed = store.updateKey('alice-laptop', { limits: { rpm: 120 }, budget: null });
    assert.equal(changed.limits.rpm, 120);
    assert.equal(changed.limits.concurrency, 2, 'what the change does not name stays');
    assert.equal(changed.budget, undefined);
    assert.ok(store.changes() > before, 'the change counter moved');
    const revoked = store.revokeKey(record.id, T0 + 5);
    assert.equal(revoked.revoked, T0 + 5);
    assert.equal(store.revokeKey(record.id, T0 + 9).revoked, T0 + 5, 'revoking twice keeps the first time');
    assert.equal(store.updateTeam('platform', { limits: { rpm: null } }).limits.rpm, undefined);
    assert.throws(() => store.updateKey('ghost', {}), /no key "ghost"/);
    store.close();
  });
});

describe('embedded store: ledger and reports', () => {
  it('appends in batches, a request id once, and reports exactly what the rows hold', () => {
    const store = openControlStore(join(tempHome(), 'l'));
    const rows = [
      row('req_1', { keyName: 'alice', user: 'alice', model: 'claude-haiku-4-5', inputTokens: 100, outputTokens: 10, costUsd: 0.00015 }),
      row('req_2', { keyName: 'alice', user: 'alice', model: 'claude-opus-4-6', inputTokens: 200, outputTokens: 20, cacheReadTokens: 1000, cacheWrite5mTokens: 50, cacheWrite1hTokens: 7, costUsd: 0.002 }),
      row('req_3', { keyName: 'bob', user: 'bob', model: 'claude-haiku-4-5', status: 429, error: 'rate_limit_error', reason: 'rate_limit', costUsd: 0 }),
    ];
    assert.equal(store.appendLedger(rows), 3);
    assert.equal(store.appendLedger([rows[0]!]), 0, 'written twice, kept once');
    const byKey = store.report('key', T0 - 1, T0 + 1);
    assert.deepEqual(byKey.map((r) => [r.group, r.requests, r.errors, r.inputTokens, r.outputTokens, r.cacheReadTokens, r.cacheWrite5mTokens, r.cacheWrite1hTokens]), [
      ['alice', 2, 0, 300, 30, 1000, 50, 7],
      ['bob', 1, 1, 0, 0, 0, 0, 0],
    ]);
    assert.equal(byKey[0]!.costUsd, 0.00215);
    assert.deepEqual(store.report('day', T0 - 1, T0 + 1).map((r) => r.group), ['2026-11-20']);
    assert.deepEqual(store.report('model', T0 + 1, T0 + 2), [], 'outside the range: nothing');
    const newest = store.requests({ since: 0, until: T0 + 1, limit: 2 });
    assert.deepEqual(newest.map((r) => r.requestId), ['req_3', 'req_2']);
    assert.equal(newest[0]!.reason, 'rate_limit');
    assert.equal(newest[1]!.cacheWrite1hTokens, 7);
    store.close();
  });
  it('a failed write keeps the rows for the next flush', () => {
    let fail = true;
    const written: LedgerRow[] = [];
    const errors: number[] = [];
    const sink = createLedgerSink({ appendLedger: (rows) => { if (fail) throw new Error('disk full'); written.push(...rows); return rows.length; } }, { flushMs: 60_000, onError: (_e, n) => errors.push(n) });
    const u = newUsageRecord('POST', 'anthropic', '/v1/messages', '/v1/messages', T0);
    u.requestId = 'req_a';
    sink.record(u);
    sink.flush();
    assert.deepEqual(errors, [1]);
    assert.equal(sink.pending(), 1);
    fail = false;
    sink.flush();
    assert.deepEqual(written.map((r) => r.requestId), ['req_a']);
    void sink.close();
  });
});

describe('gateway with the embedded store', () => {
  let emu: RunningEmulator;
  before(async () => {
    emu = await startEmulator({ port: 0 });
  });
  after(() => emu.close());

  it('takes a key created in the store within 2 s, refuses it within 2 s of its revocation, and ledgers every request once', async () => {
    const dir = join(tempHome(), 'gw');
    const cli = openControlStore(dir); // as the CLI would: another handle on the same file
    cli.createKey({ name: 'dave' }, Date.now()); // a gateway with keys refuses the ones it does not know
    let record: ReturnType<typeof cli.createKey>['record'] | undefined;
    const gw = await startGateway({ port: 0, region: 'us-west-2', auth: { kind: 'sigv4', credentials: createCredentialCache(CREDS) }, endpoint: emu.url, dataDir: dir, retry: { max: 0 } });
    try {
      const created = cli.createKey({ name: 'carol', user: 'carol', team: undefined }, Date.now());
      const key = created.key;
      record = created.record;
      const client = new Anthropic({ apiKey: key, baseURL: gw.url, maxRetries: 0 });
      const ask = () => client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 20, messages: [{ role: 'user', content: 'ledger me' }] }, { headers: { 'x-claude-code-session-id': 'sess-1' } });
      const waitFor = async (ok: () => Promise<boolean>) => {
        const t0 = Date.now();
        while (!(await ok())) {
          if (Date.now() - t0 > 2000) return Date.now() - t0;
          await new Promise((r) => setTimeout(r, 50));
        }
        return Date.now() - t0;
      };
      const took = await waitFor(() => ask().then(() => true, () => false));
      assert.ok(took < 2000, `the new key worked after ${took} ms`);
      await ask();
      await assert.rejects(new Anthropic({ apiKey: 'bck-not-a-key', baseURL: gw.url, maxRetries: 0 }).messages.create({ model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }), AuthenticationError);
      cli.revokeKey(created.record.id, Date.now());
      const refusedAfter = await waitFor(() => ask().then(() => false, (e: unknown) => e instanceof AuthenticationError));
      assert.ok(refusedAfter < 2000, `the revoked key was refused after ${refusedAfter} ms`);
    } finally {
      await gw.close(100);
    }
    // Closed: the sink wrote what it held. Every answered request is there once.
    const rows = cli.requests({ since: 0, until: Date.now() + 1, limit: 1000 });
    const mine = rows.filter((r) => r.keyId === record!.id);
    const ok = mine.filter((r) => r.status === 200);
    assert.ok(ok.length >= 2);
    assert.ok(mine.some((r) => r.status === 401) === false, 'a refused key is ledgered without the key it was not');
    assert.ok(rows.some((r) => r.status === 401 && r.keyId === null), 'the refusals are in the ledger too');
    assert.equal(new Set(rows.map((r) => r.requestId)).size, rows.length);
    const first = ok[0]!;
    assert.deepEqual([first.user, first.session, first.model, first.bedrockModel, first.scope, first.front, first.streamed], ['carol', 'sess-1', 'claude-haiku-4-5', 'global.anthropic.claude-haiku-4-5-20251001-v1:0', 'global', 'anthropic', false]);
    assert.ok(first.inputTokens > 0 && first.costUsd > 0);
    const report = cli.report('key', 0, Date.now() + 1).find((r) => r.group === 'carol')!;
    assert.equal(report.requests, mine.length);
    assert.equal(Math.round(report.costUsd * 1e9), Math.round(mine.reduce((a, r) => a + r.costUsd, 0) * 1e9));
    cli.close();
  });
  it('an unusable data directory is said in /readyz, and the gateway still serves', async () => {
    const file = join(tempHome(), 'not-a-dir');
    writeFileSync(file, 'x');
    const gw = await startGateway({ port: 0, region: 'us-west-2', auth: { kind: 'sigv4', credentials: createCredentialCache(CREDS) }, endpoint: emu.url, dataDir: file, logger: (await import('pino')).default({ level: 'silent' }) });
    try {
      const ready = await gw.app.request('/readyz');
      assert.equal(ready.status, 503);
      assert.match(JSON.stringify(ready.json()), /store: the data directory .* cannot be written/);
      const res = await gw.app.request('/v1/messages', { body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'still here' }] }) });
      assert.equal(res.status, 200);
    } finally {
      await gw.close(100);
    }
  });
});

describe('ledger retention', () => {
  it('prune deletes the rows older than the cut-off, and only those', () => {
    const store = openControlStore(join(tempHome(), 'retain'));
    store.appendLedger([row('old', { time: T0 - 40 * 86_400_000 }), row('new', { time: T0 })]);
    assert.equal(store.prune(T0 - 30 * 86_400_000), 1);
    assert.deepEqual(store.requests({ since: 0, until: T0 + 1, limit: 10 }).map((r) => r.requestId), ['new']);
    store.close();
  });
});

describe('the threaded ledger sink', () => {
  it('writes every row from its own thread, each once, and close waits for all of them', async () => {
    const dir = join(tempHome(), 'threaded');
    openControlStore(dir).close();
    const sink = createThreadedLedgerSink(dir, { flushMs: 20 });
    for (let i = 0; i < 5000; i++) {
      const u = newUsageRecord('POST', 'anthropic', '/v1/messages', '/v1/messages', T0 + i);
      u.requestId = `req_t${i % 4000}`; // 1,000 of them twice: kept once
      u.status = 200;
      u.costUsd = 0.001;
      sink.record(u);
      if (i % 1000 === 0) await new Promise((r) => setTimeout(r, 25));
    }
    await sink.close();
    assert.equal(sink.pending(), 0);
    const store = openControlStore(dir);
    const [all] = store.report('model', 0, T0 + 10_000);
    store.close();
    assert.equal(all!.requests, 4000);
    assert.equal(Math.round(all!.costUsd * 1000), 4000);
  });
});

describe('ledger encodings', () => {
  it('a usage record as insert parameters is the same as through its row', () => {
    const u = newUsageRecord('POST', 'bedrock', '/model/{modelId}/invoke', '/model/x/invoke', T0);
    Object.assign(u, { requestId: 'req_enc', status: 429, key: 'k', keyId: 'key_1', user: 'u', team: 't', session: 's', metadataUser: 'm', userAgent: 'ua', model: 'claude-haiku-4-5', bedrockModel: 'b', region: 'us-west-2', scope: 'geo', error: 'rate_limit_error', reason: 'rate_limit:rpm', streamed: true, inputTokens: 1, outputTokens: 2, cacheReadTokens: 3, cacheWrite5mTokens: 4, cacheWrite1hTokens: 5, costUsd: 0.5, latencyMs: 1.23456, ttfbMs: 0.5 });
    assert.deepEqual(ledgerValuesOf(u), ledgerValues(ledgerRowOf(u)));
    const bare = newUsageRecord('GET', 'anthropic', 'other', '/x', T0);
    assert.deepEqual(ledgerValuesOf(bare), ledgerValues(ledgerRowOf(bare)));
  });
});
