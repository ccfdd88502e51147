// npm run bench:control [-- --quick]: the control plane's cost. The same gateway twice on one
// emulator, interleaved in each round: "off" (--no-store: no keys, no limits, no ledger) and "on"
// (a data directory, a key with rate limits, concurrency and a budget, its team's limits and
// budget, every request in the ledger). Small requests at concurrency 64: throughput, CPU per
// request and p99. Then the ledger alone: rows per second written as the gateway writes them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { load } from './gateway.mjs';
import { EMULATOR_ENV, median, MODEL, round, SMALL, startProcess, stopProcess } from './lib.mjs';
import { openSqliteControlStore } from '../dist/control/sqlite-store.js';
import { createJournaledLedgerSink } from '../dist/control/journal-ledger-sink.js';
import { createLedgerWriterThread } from '../dist/control/ledger-sink.js';
import { newUsageRecord } from '../dist/control/usage-record.js';

const quick = process.argv.includes('--quick');
const duration = quick ? 3 : 8;
const rounds = quick ? 2 : 5;
const env = EMULATOR_ENV;

/**
 * Latency at a fixed rate well under saturation (2,000 req/s, 16 connections): at concurrency 64 a
 * p99 mostly measures queueing behind the CPU; here it shows stalls (a blocking write would).
 */
async function atRate(target, seconds) {
  const times = [];
  await new Promise((resolve, reject) => {
    const run = autocannon(
      { url: target.url, connections: 16, overallRate: 2000, duration: seconds, requests: [target.req], ...target.req },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    run.on('response', (_c, status, _b, ms) => {
      if (status === 200) times.push(ms);
    });
  });
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(times.length * 0.5)], p99: times[Math.floor(times.length * 0.99)], n: times.length };
}

/**
 * The ledger on its own, as the gateway writes it: each row appended to the journal, the journal
 * drained in batches to the writer thread into SQLite; timed to the last row written.
 */
async function ledgerRate(total) {
  const dir = mkdtempSync(join(tmpdir(), 'bedrock-claude-bench-ledger-'));
  await openSqliteControlStore(dir).close();
  const writer = createLedgerWriterThread(dir);
  const sink = createJournaledLedgerSink(writer, join(dir, 'ledger-journal'), { flushMs: 60_000 });
  const rows = [];
  for (let i = 0; i < total; i++) {
    const u = newUsageRecord('POST', 'anthropic', '/v1/messages', '/v1/messages', Date.now());
    Object.assign(u, {
      requestId: `req_${i}`,
      status: 200,
      key: 'bench',
      keyId: 'key_bench',
      user: 'bench',
      team: 'bench',
      model: MODEL,
      bedrockModel: 'global.anthropic.claude-haiku-4-5-20251001-v1:0',
      region: 'us-west-2',
      scope: 'global',
      inputTokens: 12,
      outputTokens: 30,
      costUsd: 0.00016,
      latencyMs: 1.2,
      ttfbMs: 0.8,
      userAgent: 'claude-cli/2.1.197 (external, cli)',
      session: 'sess',
    });
    rows.push(u);
  }
  const t0 = performance.now();
  let longest = 0;
  for (let i = 0; i < rows.length; i++) {
    sink.record(rows[i]);
    if ((i + 1) % 2000 === 0) {
      const f0 = performance.now();
      await sink.drain();
      longest = Math.max(longest, performance.now() - f0);
    }
  }
  await sink.close();
  await writer.close();
  const seconds = (performance.now() - t0) / 1000;
  return { rows: total, rowsPerSec: Math.round(total / seconds), longestDrainMs: round(longest, 2) };
}

const procs = [];
try {
  const emulator = await startProcess('emulator', ['dist/cli/main.js', 'emulator', '--port', '0'], { env });
  procs.push(emulator);
  const dataDir = mkdtempSync(join(tmpdir(), 'bedrock-claude-bench-control-'));
  const cli = (...args) =>
    execFileSync(process.execPath, ['dist/cli/main.js', ...args, '--data-dir', dataDir], { env, encoding: 'utf8' });
  cli(
    'teams',
    'create',
    'bench-team',
    '--budget-usd',
    '1000000',
    '--rpm',
    '10000000',
    '--itpm',
    '1000000000',
    '--otpm',
    '1000000000',
  );
  const plain = JSON.parse(cli('keys', 'create', 'bench-plain', '--json')).key;
  const { key } = JSON.parse(
    cli(
      'keys',
      'create',
      'bench',
      '--user',
      'bench',
      '--team',
      'bench-team',
      '--budget-usd',
      '1000000',
      '--budget-period',
      'day',
      '--rpm',
      '10000000',
      '--itpm',
      '1000000000',
      '--otpm',
      '1000000000',
      '--concurrency',
      '1000',
      '--json',
    ),
  );
  const off = await startProcess(
    'off',
    ['dist/cli/main.js', 'serve', '--no-store', '--port', '0', '--bedrock-endpoint', emulator.url],
    { env },
  );
  const on = await startProcess(
    'on',
    ['dist/cli/main.js', 'serve', '--data-dir', dataDir, '--port', '0', '--bedrock-endpoint', emulator.url],
    { env },
  );
  procs.push(off, on);
  const body = JSON.stringify({ model: MODEL, ...SMALL });
  const targets = [
    {
      name: 'off',
      url: off.url,
      pid: off.pid,
      req: { method: 'POST', path: '/v1/messages', headers: { 'content-type': 'application/json' }, body },
    },
    {
      name: 'on',
      url: on.url,
      pid: on.pid,
      req: {
        method: 'POST',
        path: '/v1/messages',
        headers: { 'content-type': 'application/json', 'x-api-key': key },
        body,
      },
    },
    // The same "on" gateway, with a key that has no limits, budget or team: keys and the ledger alone.
    {
      name: 'keys and ledger only',
      url: on.url,
      pid: on.pid,
      req: {
        method: 'POST',
        path: '/v1/messages',
        headers: { 'content-type': 'application/json', 'x-api-key': plain },
        body,
      },
    },
  ];
  for (const t of targets) await load(t, t.req, 8, quick ? 2 : 5);
  const results = Object.fromEntries(targets.map((t) => [t.name, []]));
  for (let r = 0; r < rounds; r++)
    for (const t of r % 2 ? [...targets].reverse() : targets) results[t.name].push(await load(t, t.req, 64, duration));
  const m = (name, field) => median(results[name].map((x) => x[field]));
  const rated = Object.fromEntries(targets.map((t) => [t.name, []]));
  for (let r = 0; r < rounds; r++)
    for (const t of r % 2 ? [...targets].reverse() : targets) rated[t.name].push(await atRate(t, quick ? 3 : 6));
  const mr = (name, field) => round(median(rated[name].map((x) => x[field])), 2);
  const ledger = await ledgerRate(quick ? 50_000 : 200_000);
  const store = openSqliteControlStore(dataDir);
  const rowsWritten = (await store.report('key', 0, Date.now() + 1)).reduce((a, r) => a + r.requests, 0);
  await store.close();
  const out = {
    date: new Date().toISOString(),
    node: process.version,
    quick,
    rounds,
    secondsPerLoad: duration,
    c64: {
      off: {
        rps: round(m('off', 'rps'), 0),
        cpuMsPerReq: round(m('off', 'cpuPerReq'), 4),
        p99Ms: round(m('off', 'p99'), 2),
      },
      on: {
        rps: round(m('on', 'rps'), 0),
        cpuMsPerReq: round(m('on', 'cpuPerReq'), 4),
        p99Ms: round(m('on', 'p99'), 2),
      },
      keysAndLedgerOnly: {
        rps: round(m('keys and ledger only', 'rps'), 0),
        cpuMsPerReq: round(m('keys and ledger only', 'cpuPerReq'), 4),
        p99Ms: round(m('keys and ledger only', 'p99'), 2),
      },
      rpsRatio: round(m('on', 'rps') / m('off', 'rps'), 3),
      cpuRatio: round(m('on', 'cpuPerReq') / m('off', 'cpuPerReq'), 3),
      ledgerRowsWritten: rowsWritten,
    },
    at2000rps: Object.fromEntries(targets.map((t) => [t.name, { p50Ms: mr(t.name, 'p50'), p99Ms: mr(t.name, 'p99') }])),
    ledger,
    goals: { cpuRatio: '<= 1.3', rpsRatio: '>= 0.8', ledgerRowsPerSec: '>= 20000' },
  };
  console.log(JSON.stringify(out, null, 2));
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/control.json', JSON.stringify(out, null, 2));
} finally {
  for (const p of procs.reverse()) await stopProcess(p);
}
