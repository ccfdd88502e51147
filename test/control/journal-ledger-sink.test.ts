// The journaled ledger: rows on disk as answers end, written to the store in batches, kept while
// the store is away and replayed (oldest first, each once), and taken over after a crash.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ControlStore, LedgerRow } from '../../src/control/control-store.js';
import { createJournaledLedgerSink } from '../../src/control/journal-ledger-sink.js';
import { openSqliteControlStore } from '../../src/control/sqlite-store.js';
import { newUsageRecord } from '../../src/control/usage-record.js';
import { tempHome } from '../helpers.js';

function usage(id: string) {
  const u = newUsageRecord('POST', 'anthropic', '/v1/messages', '/v1/messages', Date.now());
  u.requestId = id;
  u.status = 200;
  u.costUsd = 0.001;
  return u;
}

/** The embedded store, with a switch that makes its writes fail as an unreachable database's would. */
function flakyStore(): { store: ControlStore; down(on: boolean): void; writes: number[] } {
  const store = openSqliteControlStore(join(tempHome(), 'db'));
  let down = false;
  const writes: number[] = [];
  return {
    store: Object.assign({}, store, {
      appendLedger: async (rows: readonly LedgerRow[]) => {
        if (down) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
        writes.push(rows.length);
        return store.appendLedger(rows);
      },
    }),
    down: (on) => void (down = on),
    writes,
  };
}

const ids = async (store: ControlStore) =>
  (await store.requests({ since: 0, until: Date.now() + 1000, limit: 10_000 })).map((r) => r.requestId).sort();

describe('journaled ledger', () => {
  it('journals the rows of a turn in one write and the journal in batches; nothing waits after a drain', async () => {
    const { store, writes } = flakyStore();
    const dir = join(tempHome(), 'spool');
    const sink = createJournaledLedgerSink(store, dir, { flushMs: 60_000, batch: 3 });
    // Rows recorded in one turn are written together; an answer's last bytes wait for its row's promise.
    await Promise.all(Array.from({ length: 7 }, (_, i) => sink.record(usage(`req_${i}`))));
    assert.equal(readdirSync(dir).length, 1, 'on disk before any write to the store');
    assert.equal(sink.pending(), 7);
    await sink.drain();
    assert.deepEqual(writes, [3, 3, 1], 'batches of at most 3 rows');
    assert.equal(sink.pending(), 0);
    assert.deepEqual(readdirSync(dir), [], 'the journal file is gone once written');
    await sink.close();
    assert.equal((await ids(store)).length, 7);
  });

  it('a drain asked for while one runs also writes the rows that came after that one began', async () => {
    const real = openSqliteControlStore(join(tempHome(), 'db'));
    let release: () => void = () => undefined;
    let held = true;
    const store = Object.assign({}, real, {
      appendLedger: async (rows: readonly LedgerRow[]) => {
        if (held) await new Promise<void>((r) => (release = r));
        return real.appendLedger(rows);
      },
    });
    const sink = createJournaledLedgerSink(store, join(tempHome(), 'spool'), { flushMs: 60_000 });
    await sink.record(usage('early'));
    const first = sink.drain(); // the periodic drain, say: it holds 'early' only
    await sink.record(usage('late'));
    const mine = sink.drain();
    held = false;
    release();
    await mine;
    assert.deepEqual(await ids(real), ['early', 'late'], 'the caller of drain finds its row in the store');
    await first;
    await sink.close();
  });

  it('spools while the store is away, says so, and writes every row once when it is back', async () => {
    const { store, down } = flakyStore();
    const problems: Array<string | undefined> = [];
    const sink = createJournaledLedgerSink(store, join(tempHome(), 'spool'), {
      flushMs: 60_000,
      onProblem: (p) => problems.push(p),
    });
    sink.record(usage('req_before'));
    await sink.drain();
    down(true);
    for (let i = 0; i < 5; i++) sink.record(usage(`req_out_${i}`));
    await sink.drain();
    sink.record(usage('req_out_late'));
    await sink.drain();
    assert.equal(sink.pending(), 6);
    assert.match(sink.problem() ?? '', /^ledger: \d+ rows wait in .*ECONNREFUSED.*written when it is back/);
    down(false);
    await sink.drain();
    await sink.drain();
    assert.equal(sink.pending(), 0);
    assert.equal(sink.problem(), undefined);
    assert.equal(problems.at(-1), undefined, 'the all-clear is said too');
    await sink.close();
    const written = await ids(store);
    assert.deepEqual(
      written,
      ['req_before', 'req_out_0', 'req_out_1', 'req_out_2', 'req_out_3', 'req_out_4', 'req_out_late'].sort(),
    );
  });

  it('a new process takes over the journal a dead one left, torn last line and all, and writes nothing twice', async () => {
    const { store } = flakyStore();
    const dir = join(tempHome(), 'spool');
    const first = createJournaledLedgerSink(store, dir, { flushMs: 60_000 });
    for (let i = 0; i < 4; i++) first.record(usage(`req_${i}`));
    await first.drain();
    for (let i = 4; i < 6; i++) await first.record(usage(`req_${i}`));
    // As a kill -9 would leave it: the file of a process that is gone (pid 2^22 - 1 is not running), a half-written line at its end.
    const [name] = readdirSync(dir);
    const { renameSync } = await import('node:fs');
    const orphan = name!
      .replace(/-(\d+)-(\d+)\.jsonl$/, '-4194303-$2.jsonl')
      .replace(/^ledger-[0-9a-f]+/, 'ledger-deadbeef');
    renameSync(join(dir, name!), join(dir, orphan));
    appendFileSync(join(dir, orphan), '{"requestId":"req_torn","ti');
    // And a replay of rows already written (a crash between the store's commit and the file's deletion).
    appendFileSync(
      join(dir, 'ledger-0badcafe-4194303-000001.jsonl'),
      `${JSON.stringify((await store.requests({ since: 0, until: Date.now() + 1000, limit: 1 }))[0])}\n`,
    );
    const second = createJournaledLedgerSink(store, dir, { flushMs: 60_000 });
    assert.equal(second.pending(), 4, 'two rows left, one replayed row, one torn line counted until read');
    await second.drain();
    assert.equal(second.pending(), 0);
    assert.deepEqual(await ids(store), ['req_0', 'req_1', 'req_2', 'req_3', 'req_4', 'req_5']);
    await second.close();
    await first.close();
  });

  it('a journal that cannot be written holds no answer back, says so, keeps the rows and writes them when it can', async () => {
    const { store } = flakyStore();
    const dir = join(tempHome(), 'spool');
    const problems: Array<string | undefined> = [];
    const sink = createJournaledLedgerSink(store, dir, { flushMs: 60_000, onProblem: (p) => problems.push(p) });
    rmSync(dir, { recursive: true }); // the journal's directory is gone (a disk unmounted, a wrong cleanup)
    await sink.record(usage('req_lost_dir')); // resolves: the answer is not held back
    assert.match(problems.at(-1) ?? '', /journal in .* cannot be written \(ENOENT.*kept in memory until it can/);
    assert.equal(sink.pending(), 1, 'kept');
    mkdirSync(dir, { recursive: true });
    await sink.record(usage('req_after'));
    await sink.drain();
    assert.equal(sink.pending(), 0);
    assert.deepEqual(await ids(store), ['req_after', 'req_lost_dir']);
    await sink.close();
  });
});
