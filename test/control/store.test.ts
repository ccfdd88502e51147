import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Anthropic, { AuthenticationError } from '@anthropic-ai/sdk';
import Database from 'better-sqlite3';
import { createCredentialCache } from '../../src/aws/credentials.js';
import { ledgerRowFromDb, ledgerRowOf, ledgerValues, ledgerValuesOf } from '../../src/control/ledger-columns.js';
import { createJournaledLedgerSink } from '../../src/control/journal-ledger-sink.js';
import { createLedgerWriterThread } from '../../src/control/ledger-sink.js';
import { MIGRATIONS } from '../../src/control/migrations.js';
import { openSqliteControlStore, storePath } from '../../src/control/sqlite-store.js';
import { StoreError } from '../../src/control/store-errors.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { startGateway } from '../../src/server/gateway.js';
import { newUsageRecord } from '../../src/control/usage-record.js';
import { CREDS, tempHome } from '../helpers.js';

const T0 = Date.UTC(2026, 10, 20, 12);

describe('embedded store: schema', () => {
  it('migrates a new data directory, and opens it again without migrating twice', async () => {
    const dir = join(tempHome(), 'data');
    await openSqliteControlStore(dir).close();
    const db = new Database(storePath(dir));
    assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
    const again = openSqliteControlStore(dir);
    assert.deepEqual(await again.listKeys(), []);
    await again.close();
  });
  it('refuses a schema newer than it knows, saying what to do', async () => {
    const dir = join(tempHome(), 'newer');
    await openSqliteControlStore(dir).close();
    const db = new Database(storePath(dir));
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    assert.throws(
      () => openSqliteControlStore(dir),
      (e) =>
        e instanceof StoreError &&
        e.kind === 'unavailable' &&
        new RegExp(
          `schema version ${MIGRATIONS.length + 1}, newer than this bedrock-claude knows \\(${MIGRATIONS.length}\\): ` +
            'upgrade bedrock-claude',
        ).test(e.message),
    );
  });
  it('says so when the data directory is a file', () => {
    const file = join(tempHome(), 'a-file');
    writeFileSync(file, 'x');
    assert.throws(() => openSqliteControlStore(file), /the data directory .* cannot be written \((EEXIST|ENOTDIR)\)/);
  });
});

/** The embedded store's ledger as the gateway opens it: a journal in front of the writer thread. */
function embeddedLedger(dir: string, onProblem: (problem: string | undefined) => void = () => undefined) {
  const writer = createLedgerWriterThread(dir);
  const journal = createJournaledLedgerSink(writer, join(dir, 'ledger-journal'), { flushMs: 20, onProblem });
  return Object.assign(journal, {
    async close() {
      await journal.drain();
      await writer.close();
    },
  });
}

describe('the embedded ledger keeps what it could not write', () => {
  it('a batch the database refuses stays in the journal, is said, and is written by a later drain', async () => {
    const dir = join(tempHome(), 'refused');
    await openSqliteControlStore(dir).close();
    const db = new Database(storePath(dir));
    db.exec(
      "CREATE TRIGGER refuse BEFORE INSERT ON ledger BEGIN SELECT RAISE(ABORT, 'the disk is full (a test)'); END",
    );
    const problems: Array<string | undefined> = [];
    const sink = embeddedLedger(dir, (p) => problems.push(p));
    const u = newUsageRecord('POST', 'anthropic', '/v1/messages', '/v1/messages', T0);
    u.requestId = 'req_a';
    sink.record(u);
    await sink.drain();
    assert.match(problems[0]!, /the disk is full \(a test\)/);
    assert.equal(sink.pending(), 1, 'kept for the next drain');
    db.exec('DROP TRIGGER refuse');
    db.close();
    await sink.drain();
    assert.equal(sink.pending(), 0);
    assert.equal(problems.at(-1), undefined, 'the problem is over');
    await sink.close();
    const store = openSqliteControlStore(dir);
    assert.deepEqual(
      (await store.requests({ since: 0, until: T0 + 1, limit: 10 })).map((r) => r.requestId),
      ['req_a'],
    );
    await store.close();
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
    const cli = openSqliteControlStore(dir); // as the CLI would: another handle on the same file
    await cli.createKey({ name: 'dave' }, Date.now()); // a gateway with keys refuses the ones it does not know
    let record: Awaited<ReturnType<typeof cli.createKey>>['record'] | undefined;
    const gw = await startGateway({
      port: 0,
      region: 'us-west-2',
      auth: { kind: 'sigv4', credentials: createCredentialCache(CREDS) },
      endpoint: emu.url,
      dataDir: dir,
      retry: { max: 0 },
    });
    try {
      const created = await cli.createKey({ name: 'carol', user: 'carol', team: undefined }, Date.now());
      const key = created.key;
      record = created.record;
      const client = new Anthropic({ apiKey: key, baseURL: gw.url, maxRetries: 0 });
      const ask = () =>
        client.messages.create(
          { model: 'claude-haiku-4-5', max_tokens: 20, messages: [{ role: 'user', content: 'ledger me' }] },
          { headers: { 'x-claude-code-session-id': 'sess-1' } },
        );
      const waitFor = async (ok: () => Promise<boolean>) => {
        const t0 = Date.now();
        while (!(await ok())) {
          if (Date.now() - t0 > 2000) return Date.now() - t0;
          await new Promise((r) => setTimeout(r, 50));
        }
        return Date.now() - t0;
      };
      const took = await waitFor(() =>
        ask().then(
          () => true,
          () => false,
        ),
      );
      assert.ok(took < 2000, `the new key worked after ${took} ms`);
      await ask();
      await assert.rejects(
        new Anthropic({ apiKey: 'bck-not-a-key', baseURL: gw.url, maxRetries: 0 }).messages.create({
          model: 'claude-haiku-4-5',
          max_tokens: 5,
          messages: [{ role: 'user', content: 'x' }],
        }),
        AuthenticationError,
      );
      await cli.revokeKey(created.record.id, Date.now());
      const refusedAfter = await waitFor(() =>
        ask().then(
          () => false,
          (e: unknown) => e instanceof AuthenticationError,
        ),
      );
      assert.ok(refusedAfter < 2000, `the revoked key was refused after ${refusedAfter} ms`);
    } finally {
      await gw.close(100);
    }
    // Closed: the sink wrote what it held. Every answered request is there once.
    const rows = await cli.requests({ since: 0, until: Date.now() + 1, limit: 1000 });
    const mine = rows.filter((r) => r.keyId === record!.id);
    const ok = mine.filter((r) => r.status === 200);
    assert.ok(ok.length >= 2);
    assert.ok(mine.some((r) => r.status === 401) === false, 'a refused key is ledgered without the key it was not');
    // Issue 25: refusals for want of a valid key are counted in the metrics, not stored one by one.
    assert.ok(!rows.some((r) => r.status === 401 && r.keyId === null), 'keyless refusals are not rows');
    assert.equal(new Set(rows.map((r) => r.requestId)).size, rows.length);
    const first = ok[0]!;
    assert.deepEqual(
      [first.user, first.session, first.model, first.bedrockModel, first.scope, first.front, first.streamed],
      [
        'carol',
        'sess-1',
        'claude-haiku-4-5',
        'global.anthropic.claude-haiku-4-5-20251001-v1:0',
        'global',
        'anthropic',
        false,
      ],
    );
    assert.ok(first.inputTokens > 0 && first.costUsd > 0);
    const report = (await cli.report('key', 0, Date.now() + 1)).find((r) => r.group === 'carol')!;
    assert.equal(report.requests, mine.length);
    assert.equal(Math.round(report.costUsd * 1e9), Math.round(mine.reduce((a, r) => a + r.costUsd, 0) * 1e9));
    await cli.close();
  });
  it('an unusable data directory stops the gateway at start-up, with the reason and the fix (fail closed)', async () => {
    // Before issue 25 the gateway went on without keys or budgets, only /readyz saying so.
    const file = join(tempHome(), 'not-a-dir');
    writeFileSync(file, 'x');
    await assert.rejects(
      startGateway({
        port: 0,
        region: 'us-west-2',
        auth: { kind: 'sigv4', credentials: createCredentialCache(CREDS) },
        endpoint: emu.url,
        dataDir: file,
        logger: (await import('pino')).default({ level: 'silent' }),
      }),
      (err: Error & { fix?: string }) =>
        /the control plane's store cannot be opened: the data directory .* cannot be written/.test(err.message) &&
        /--no-store/.test(err.fix ?? ''),
    );
  });
});

describe('the embedded ledger', () => {
  it('writes every row from its own thread, each once, and close waits for all of them', async () => {
    const dir = join(tempHome(), 'threaded');
    await openSqliteControlStore(dir).close();
    const sink = embeddedLedger(dir);
    for (let i = 0; i < 5000; i++) {
      const u = newUsageRecord('POST', 'anthropic', '/v1/messages', '/v1/messages', T0 + i);
      u.requestId = `req_t${i % 4000}`; // 1,000 of them twice: kept once
      u.status = 200;
      u.costUsd = 0.001;
      sink.record(u);
      if (i % 1000 === 0) await sink.drain();
    }
    await sink.close();
    assert.equal(sink.pending(), 0);
    const store = openSqliteControlStore(dir);
    const [all] = await store.report('model', 0, T0 + 10_000);
    await store.close();
    assert.equal(all!.requests, 4000);
    assert.equal(Math.round(all!.costUsd * 1000), 4000);
  });
});

describe('ledger encodings', () => {
  it('a usage record as insert parameters is the same as through its row', () => {
    const u = newUsageRecord('POST', 'bedrock', '/model/{modelId}/invoke', '/model/x/invoke', T0);
    Object.assign(u, {
      requestId: 'req_enc',
      status: 429,
      key: 'k',
      keyId: 'key_1',
      user: 'u',
      team: 't',
      session: 's',
      metadataUser: 'm',
      userAgent: 'ua',
      model: 'haiku',
      modelName: 'claude-haiku-4-5',
      bedrockModel: 'b',
      region: 'us-west-2',
      scope: 'geo',
      error: 'rate_limit_error',
      reason: 'rate_limit:rpm',
      streamed: true,
      inputTokens: 1,
      outputTokens: 2,
      cacheReadTokens: 3,
      cacheWrite5mTokens: 4,
      cacheWrite1hTokens: 5,
      costUsd: 0.5,
      latencyMs: 1.23456,
      ttfbMs: 0.5,
      teams: ['ml', 'research'],
    });
    assert.deepEqual(ledgerValuesOf(u), ledgerValues(ledgerRowOf(u)));
    assert.equal(ledgerRowOf(u).teams, '["ml","research"]', "a person's other teams, as JSON");
    assert.deepEqual(
      [ledgerRowOf(u).model, ledgerRowOf(u).clientModel],
      ['claude-haiku-4-5', 'haiku'],
      "the catalog's name, and the client's spelling",
    );
    const bare = newUsageRecord('GET', 'anthropic', 'other', '/x', T0);
    assert.deepEqual(ledgerValuesOf(bare), ledgerValues(ledgerRowOf(bare)));
    assert.equal(ledgerValuesOf(u).length, 33);
    const back = Object.fromEntries(
      ['request_id', 'streamed', 'ttfb_ms', 'latency_ms', 'key_name'].map((c, i) => [
        c,
        [u.requestId, 1, 0.5, 1.235, 'k'][i],
      ]),
    );
    assert.deepEqual(
      [
        ledgerRowFromDb(back).streamed,
        ledgerRowFromDb(back).latencyMs,
        ledgerRowFromDb(back).keyName,
        ledgerRowFromDb(back).dropped,
      ],
      [true, 1.235, 'k', null],
      'a row read back: SQLite 1 as true, missing as null',
    );
  });
});
