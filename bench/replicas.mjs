// npm run bench:replicas [-- --quick]: what several replicas cost. In one run, on one emulator:
// one gateway on the embedded store (SQLite, counters in memory), the same gateway on PostgreSQL and
// Redis (what the shared stores cost, process for process), and two gateways sharing them (what
// this 2-core machine does with two processes), with the same key (rate limits, concurrency, a budget, a team's limits and
// budget). Small requests at concurrency 64 (split 32 + 32 over the two): requests per second, the
// gateways' CPU per request, p50/p99 at a fixed rate, and Redis round trips per request. Then the
// PostgreSQL ledger on its own (rows per second), and `usage --by key --since 30d` over 1,000,000
// ledger rows (200,000 with --quick), from the daily totals and, for comparison, from the rows.
// Needs PostgreSQL and Redis (BEDROCK_CLAUDE_TEST_DATABASE_URL / BEDROCK_CLAUDE_TEST_REDIS_URL, or
// the local defaults); cleans up its schema and keys.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import pg from 'pg';
import { EMULATOR_ENV, cpuMs, median, MODEL, round, SMALL, startProcess, stopProcess } from './lib.mjs';
import { openSqliteControlStore } from '../dist/control/sqlite-store.js';
import { openPostgresControlStore } from '../dist/control/postgres-store.js';

const quick = process.argv.includes('--quick');
const duration = quick ? 3 : 6;
const rounds = quick ? 2 : 3;
const reportRows = quick ? 200_000 : 1_000_000;
const DATABASE_URL = process.env.BEDROCK_CLAUDE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.BEDROCK_CLAUDE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const schema = `bench_${randomBytes(4).toString('hex')}`;
const prefix = `bench:${randomBytes(4).toString('hex')}:`;
const dbUrl = (() => {
  const u = new URL(DATABASE_URL);
  u.searchParams.set('schema', schema);
  return u.toString();
})();

const LIMITS = { rpm: 10_000_000, itpm: 1_000_000_000, otpm: 1_000_000_000 };
async function seedKeys(store) {
  await store.createTeam(
    { name: 'bench-team', budget: { usd: 1_000_000, period: 'month' }, limits: LIMITS },
    Date.now(),
  );
  return (
    await store.createKey(
      {
        name: 'bench',
        user: 'bench',
        team: 'bench-team',
        budget: { usd: 1_000_000, period: 'day' },
        limits: { ...LIMITS, concurrency: 1000 },
      },
      Date.now(),
    )
  ).key;
}

const metric = async (url, name) =>
  Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? NaN);

/** `connections` split over the gateways; CPU of all of them per request. */
async function loadOver(gateways, req, connections, seconds) {
  const cpu0 = gateways.map((g) => cpuMs(g.pid));
  const trips0 = await Promise.all(gateways.map((g) => metric(g.url, 'bedrock_claude_counter_round_trips')));
  const times = [];
  const results = await Promise.all(
    gateways.map(
      (g) =>
        new Promise((resolve, reject) => {
          const run = autocannon(
            { url: g.url, connections: connections / gateways.length, duration: seconds, requests: [req], ...req },
            (err, r) => (err ? reject(err) : resolve(r)),
          );
          run.on('response', (_c, status, _b, ms) => {
            if (status === 200) times.push(ms);
          });
        }),
    ),
  );
  const cpu = gateways.reduce((s, g, i) => s + cpuMs(g.pid) - cpu0[i], 0);
  const trips1 = await Promise.all(gateways.map((g) => metric(g.url, 'bedrock_claude_counter_round_trips')));
  const ok = results.reduce((s, r) => s + r['2xx'], 0);
  const bad = results.reduce((s, r) => s + r.non2xx + r.errors, 0);
  if (bad) throw new Error(`${bad} failed requests`);
  times.sort((a, b) => a - b);
  return {
    rps: results.reduce((s, r) => s + r.requests.average, 0),
    cpuPerReq: cpu / ok,
    p50: times[Math.floor(times.length * 0.5)],
    p99: times[Math.floor(times.length * 0.99)],
    tripsPerReq: (trips1.reduce((a, b) => a + b, 0) - trips0.reduce((a, b) => a + b, 0)) / ok,
  };
}

/** Latency at a fixed rate well under saturation (1,000 req/s over 16 connections in all). */
async function atRate(gateways, req, seconds) {
  const times = [];
  await Promise.all(
    gateways.map(
      (g) =>
        new Promise((resolve, reject) => {
          const run = autocannon(
            {
              url: g.url,
              connections: 16 / gateways.length,
              overallRate: 1000 / gateways.length,
              duration: seconds,
              requests: [req],
              ...req,
            },
            (err, r) => (err ? reject(err) : resolve(r)),
          );
          run.on('response', (_c, status, _b, ms) => {
            if (status === 200) times.push(ms);
          });
        }),
    ),
  );
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(times.length * 0.5)], p99: times[Math.floor(times.length * 0.99)] };
}

function row(i, now, keys) {
  const k = i % keys;
  return {
    requestId: `req_${i}`,
    time: now - Math.floor((i / reportRows) * 30 * 86_400_000),
    front: 'anthropic',
    route: '/v1/messages',
    keyId: `key_${k}`,
    keyName: `key-${k}`,
    user: `user-${k % 50}`,
    team: `team-${k % 10}`,
    session: null,
    metadataUser: null,
    userAgent: 'claude-cli/2.1.197',
    model: i % 3 ? 'claude-haiku-4-5' : 'claude-sonnet-4-6',
    bedrockModel: 'global.anthropic.claude-haiku-4-5-20251001-v1:0',
    region: 'us-west-2',
    scope: 'global',
    status: i % 50 ? 200 : 429,
    error: null,
    reason: null,
    streamed: i % 2 === 0,
    inputTokens: 1200,
    outputTokens: 300,
    cacheReadTokens: 5000,
    cacheWrite5mTokens: 100,
    cacheWrite1hTokens: 0,
    costUsd: 0.0042,
    latencyMs: 850.5,
    ttfbMs: 310.25,
  };
}

const procs = [];
let store;
try {
  const emulator = await startProcess('emulator', ['dist/cli/main.js', 'emulator', '--port', '0'], {
    env: EMULATOR_ENV,
  });
  procs.push(emulator);
  // One replica, embedded.
  const dataDir = mkdtempSync(join(tmpdir(), 'bedrock-claude-bench-embedded-'));
  const lite = openSqliteControlStore(dataDir);
  const liteKey = await seedKeys(lite);
  await lite.close();
  const embedded = await startProcess(
    'embedded',
    ['dist/cli/main.js', 'serve', '--data-dir', dataDir, '--port', '0', '--bedrock-endpoint', emulator.url],
    { env: EMULATOR_ENV },
  );
  procs.push(embedded);
  // Two replicas, shared.
  store = await openPostgresControlStore(dbUrl);
  const sharedKey = await seedKeys(store);
  const replicas = [];
  for (const name of ['replica-a', 'replica-b']) {
    const home = mkdtempSync(join(tmpdir(), `bedrock-claude-bench-${name}-`));
    const config = join(home, 'gateway.yaml');
    writeFileSync(
      config,
      `store: ${JSON.stringify(dbUrl)}\ncounters:\n  url: ${JSON.stringify(REDIS_URL)}\n  prefix: ${JSON.stringify(prefix)}\ndataDir: ${JSON.stringify(join(home, 'data'))}\n`,
    );
    const p = await startProcess(
      name,
      ['dist/cli/main.js', 'serve', '--config', config, '--port', '0', '--bedrock-endpoint', emulator.url],
      { env: EMULATOR_ENV },
    );
    procs.push(p);
    replicas.push(p);
  }
  const body = JSON.stringify({ model: MODEL, ...SMALL });
  const req = (key) => ({
    method: 'POST',
    path: '/v1/messages',
    headers: { 'content-type': 'application/json', 'x-api-key': key },
    body,
  });
  const setups = {
    embedded: { gateways: [embedded], req: req(liteKey) },
    oneShared: { gateways: [replicas[0]], req: req(sharedKey) },
    shared: { gateways: replicas, req: req(sharedKey) },
  };
  const names = Object.keys(setups);
  for (const s of Object.values(setups)) await loadOver(s.gateways, s.req, 8, 2);
  const runs = Object.fromEntries(names.map((n) => [n, []]));
  const rated = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++)
    for (const name of r % 2 ? [...names].reverse() : names)
      runs[name].push(await loadOver(setups[name].gateways, setups[name].req, 64, duration));
  for (let r = 0; r < rounds; r++)
    for (const name of r % 2 ? [...names].reverse() : names)
      rated[name].push(await atRate(setups[name].gateways, setups[name].req, quick ? 3 : 5));
  const m = (name, field) => median(runs[name].map((x) => x[field]));
  const mr = (name, field) => round(median(rated[name].map((x) => x[field])), 2);
  for (const p of procs.splice(1)) await stopProcess(p);

  // The PostgreSQL ledger alone: batches of 1,000 rows as the journaled sink sends them.
  const now = Date.now();
  const ledgerT0 = performance.now();
  const batch = 1000;
  let written = 0;
  for (let i = 0; i < reportRows; i += batch) {
    const rows = [];
    for (let j = i; j < Math.min(reportRows, i + batch); j++) rows.push(row(j, now, 200));
    written += await store.appendLedger(rows);
  }
  const ledgerSeconds = (performance.now() - ledgerT0) / 1000;
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query(`SET search_path TO ${schema}`);
  await client.query('ANALYZE');
  const since = now - 30 * 86_400_000;
  const timed = async (run, n = 7) => {
    const times = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await run();
      times.push(performance.now() - t0);
    }
    return round(median(times), 1);
  };
  const fromDaily = await timed(() => store.report('key', since, now + 1));
  const fromRows = await timed(
    () =>
      client.query(`SELECT key_name, count(*), sum(cost_usd) FROM ledger WHERE time >= $1 AND time < $2 GROUP BY 1`, [
        since,
        now + 1,
      ]),
    3,
  );
  const groups = (await store.report('key', since, now + 1)).length;
  await client.end();

  const out = {
    date: new Date().toISOString(),
    node: process.version,
    quick,
    rounds,
    secondsPerLoad: duration,
    c64: {
      embedded: {
        rps: round(m('embedded', 'rps'), 0),
        cpuMsPerReq: round(m('embedded', 'cpuPerReq'), 4),
        p50Ms: round(m('embedded', 'p50'), 2),
        p99Ms: round(m('embedded', 'p99'), 2),
      },
      oneReplicaShared: {
        rps: round(m('oneShared', 'rps'), 0),
        cpuMsPerReq: round(m('oneShared', 'cpuPerReq'), 4),
        p50Ms: round(m('oneShared', 'p50'), 2),
        p99Ms: round(m('oneShared', 'p99'), 2),
        redisRoundTripsPerReq: round(m('oneShared', 'tripsPerReq'), 3),
      },
      twoReplicas: {
        rps: round(m('shared', 'rps'), 0),
        cpuMsPerReq: round(m('shared', 'cpuPerReq'), 4),
        p50Ms: round(m('shared', 'p50'), 2),
        p99Ms: round(m('shared', 'p99'), 2),
        redisRoundTripsPerReq: round(m('shared', 'tripsPerReq'), 3),
      },
      cpuRatioSharedStores: round(m('oneShared', 'cpuPerReq') / m('embedded', 'cpuPerReq'), 3),
      cpuRatioTwoProcesses: round(m('shared', 'cpuPerReq') / m('embedded', 'cpuPerReq'), 3),
    },
    at1000rps: {
      embedded: { p50Ms: mr('embedded', 'p50'), p99Ms: mr('embedded', 'p99') },
      oneReplicaShared: { p50Ms: mr('oneShared', 'p50'), p99Ms: mr('oneShared', 'p99') },
      twoReplicas: { p50Ms: mr('shared', 'p50'), p99Ms: mr('shared', 'p99') },
      addedP50Ms: round(mr('oneShared', 'p50') - mr('embedded', 'p50'), 2),
    },
    postgresLedger: { rows: written, rowsPerSec: Math.round(written / ledgerSeconds), batch },
    report: { ledgerRows: reportRows, keys: groups, usageByKey30dMs: fromDaily, sameFromRowsMs: fromRows },
    goals: { redisRoundTripsPerReq: '= 2', usageByKey30dMs: '< 200 (1,000,000 rows)' },
  };
  console.log(JSON.stringify(out, null, 2));
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(`bench/results/replicas${quick ? '-quick' : ''}.json`, JSON.stringify(out, null, 2));
} finally {
  for (const p of procs.reverse()) await stopProcess(p);
  await store?.close();
  const c = new pg.Client({ connectionString: DATABASE_URL });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await c.end();
  const r = new Redis(REDIS_URL);
  const keys = await r.keys(`${prefix}*`);
  if (keys.length) await r.del(...keys);
  r.disconnect();
}
