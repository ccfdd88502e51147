// Issue 25, item 9: nothing answered is lost on the embedded store. A gateway on SQLite under 24
// concurrent workers (streamed and not) is killed with SIGKILL; started again on its data directory,
// its ledger holds every answer a client saw end, each once, and the budget counts them all.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { openSqliteControlStore } from '../../src/control/sqlite-store.js';
import { admin, callModel, startLoad, startReplica, type Replica } from './harness.js';

let gateway: Replica | undefined;
after(async () => {
  await gateway?.kill('SIGKILL');
});

describe('kill -9 on the embedded store', { timeout: 120_000 }, () => {
  it('under 24 workers: every complete answer is in the ledger exactly once, and its budget counts it', async () => {
    gateway = await startReplica('E', { embedded: true });
    const created = await admin(gateway.url, 'POST', '/admin/keys', {
      name: 'kill-embedded',
      budget: { usd: 1000, period: 'day' },
    });
    const key = created.json['key'] as string;
    const url = gateway.url;
    const running = startLoad(24, 20_000, (i) => callModel(url, key, { stream: i % 3 !== 0 }));
    await running.after(400);
    await gateway.kill('SIGKILL');
    const results = await running.stop();
    const dataDir = gateway.dataDir;
    gateway = await startReplica('E2', { embedded: true, dataDir });

    const complete = results.filter((r) => r.complete);
    assert.ok(complete.length >= 400, `${complete.length} complete answers under load`);
    const store = openSqliteControlStore(dataDir);
    const rows = await store.requests({ since: 0, until: Date.now() + 60_000, limit: 100_000, key: 'kill-embedded' });
    await store.close();
    const seen = new Map<string, number>();
    for (const r of rows) seen.set(r.requestId, (seen.get(r.requestId) ?? 0) + 1);
    assert.deepEqual(
      complete.filter((r) => !seen.has(r.id)).map((r) => r.id),
      [],
      'every complete answer is in the ledger',
    );
    assert.deepEqual(
      [...seen.values()].filter((n) => n !== 1),
      [],
      'each once',
    );

    // The budget, rebuilt from the ledger by the new process, counts every answer: nothing forgiven.
    const ids = new Set(complete.map((r) => r.id));
    const answered = rows.filter((r) => ids.has(r.requestId)).reduce((s, r) => s + r.costUsd, 0);
    const all = rows.reduce((s, r) => s + r.costUsd, 0);
    const budgets = (await admin(gateway.url, 'GET', '/admin/budgets')).json['data'] as Array<{
      name: string;
      spentUsd: number;
    }>;
    const spent = budgets.find((b) => b.name === 'kill-embedded')!.spentUsd;
    assert.ok(Math.abs(spent - all) < 1e-9 && spent >= answered - 1e-9, `spent $${spent} of $${all} in the ledger`);
    const id = created.json['id'] as string;
    await admin(gateway.url, 'PATCH', `/admin/keys/${id}`, { budget: { usd: answered, period: 'day' } });
    const refused = await callModel(gateway.url, key);
    assert.equal(refused.status, 403, 'a budget of what was answered is spent: the next call is refused');
  });
});
