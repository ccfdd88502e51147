// Reports group by the model a request resolved to (the catalog's name), whatever the client called it; the client's
// spelling is a grouping of its own (issue 29). On the embedded store and on PostgreSQL (its daily totals included).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { openSqliteControlStore } from '../../src/control/sqlite-store.js';
import { openPostgresControlStore } from '../../src/control/postgres-store.js';
import type { ControlStore } from '../../src/control/control-store.js';
import type { GatewayOptions } from '../../src/server/gateway.js';
import { gatewayOn, tempHome } from '../helpers.js';
import { sharedServices, testSchema } from '../shared-services.js';

const SPELLINGS = ['haiku', 'claude-haiku-4-5', 'global.anthropic.claude-haiku-4-5-20251001-v1:0'];
let emu: RunningEmulator;
before(async () => {
  emu = await startEmulator({ port: 0 });
});
after(() => emu.close());

async function callEach(options: Partial<GatewayOptions>): Promise<void> {
  const gw = await gatewayOn(emu.url, options);
  try {
    const anthropic = new Anthropic({ apiKey: 'unused', baseURL: gw.url, maxRetries: 0 });
    for (const model of SPELLINGS)
      await anthropic.messages.create({ model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    await gw.flushLedger();
  } finally {
    await gw.close(100);
  }
}

async function assertGrouped(store: ControlStore): Promise<void> {
  const since = Date.now() - 3_600_000;
  const until = Date.now() + 60_000;
  const byModel = await store.report('model', since, until);
  assert.deepEqual(
    byModel.map((r) => [r.group, r.requests]),
    [['claude-haiku-4-5', 3]],
  );
  const bySpelling = await store.report('client-model', since, until);
  assert.deepEqual(bySpelling.map((r) => r.group).sort(), [...SPELLINGS].sort());
  const series = await store.series('model', since, until, 3_600_000);
  assert.deepEqual([...new Set(series.map((s) => s.group))], ['claude-haiku-4-5'], 'one chart series');
}

describe('reports by model', async () => {
  const skip = await sharedServices();
  it('on the embedded store: one row for three spellings of Haiku 4.5, three by the client spelling', async () => {
    const dataDir = tempHome();
    await callEach({ dataDir });
    const store = openSqliteControlStore(dataDir);
    try {
      await assertGrouped(store);
    } finally {
      await store.close();
    }
  });

  it('on PostgreSQL', { skip }, async () => {
    const db = testSchema('reports');
    try {
      await callEach({ databaseUrl: db.url, dataDir: tempHome() });
      const store = await openPostgresControlStore(db.url);
      try {
        await assertGrouped(store);
      } finally {
        await store.close();
      }
    } finally {
      await db.drop();
    }
  });
});
