// npm run bench:stages [-- --quick]: where the time of one request goes, stage by stage, for a
// direct call, the floor proxy and ours, at concurrency 1 (small request) and to the first byte of
// a 1,000-event stream. Every process runs with bench/stage-probe.mjs, which timestamps each stage
// in that process; this process times each request from the client's side and joins the two.
// Prints a table and writes bench/results/stages.json. Context for the bench's added-latency rows,
// not a goal of its own.
import autocannon from 'autocannon';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { runPreflightBench } from './preflight.mjs';
import {
  EMULATOR_ENV,
  median,
  MODEL,
  MODEL_ID,
  round,
  signedInvoke,
  SMALL,
  startProcess,
  STREAM_1000 as STREAM,
  stopProcess,
} from './lib.mjs';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 3 : 10;
const PROBE = ['--import', './bench/stage-probe.mjs'];

const dir = mkdtempSync(join(tmpdir(), 'bedrock-claude-stages-'));
const logOf = (name) => join(dir, `${name}.jsonl`);
const env = EMULATOR_ENV;
const procs = [];
try {
  const emulator = await startProcess(
    'emulator',
    [...PROBE, 'dist/cli/main.js', 'emulator', '--port', '0', '--delta-chars', '4'],
    { env: { ...env, STAGE_LOG: logOf('emulator') } },
  );
  procs.push(emulator);
  const floor = await startProcess('floor', [...PROBE, 'bench/floor-proxy.mjs', emulator.url], {
    env: { ...env, STAGE_LOG: logOf('floor') },
  });
  procs.push(floor);
  const ours = await startProcess(
    'ours',
    [...PROBE, 'dist/cli/main.js', 'serve', '--no-store', '--port', '0', '--bedrock-endpoint', emulator.url],
    { env: { ...env, LOG_LEVEL: 'info', STAGE_LOG: logOf('ours') } },
  );
  procs.push(ours);

  const signed = async (body, op) => {
    const s = await signedInvoke(emulator.url, MODEL_ID, { anthropic_version: 'bedrock-2023-05-31', ...body }, op);
    return { method: 'POST', path: s.path, headers: s.headers, body: s.body };
  };
  const anthropic = (body) => ({
    method: 'POST',
    path: '/v1/messages',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, ...body }),
  });
  const targets = [
    {
      name: 'direct',
      url: emulator.url,
      small: await signed(SMALL, 'invoke'),
      stream: await signed(STREAM, 'invoke-with-response-stream'),
    },
    {
      name: 'floor',
      url: floor.url,
      log: 'floor',
      small: await signed(SMALL, 'invoke'),
      stream: await signed(STREAM, 'invoke-with-response-stream'),
    },
    {
      name: 'ours (Anthropic front)',
      url: ours.url,
      log: 'ours',
      small: anthropic(SMALL),
      stream: anthropic({ stream: true, ...STREAM }),
    },
  ];

  // The same warm-up as the bench: a gateway's JIT takes seconds of traffic to settle.
  for (const t of targets)
    await new Promise((resolve, reject) =>
      autocannon({ url: t.url, connections: 8, duration: quick ? 2 : 5, requests: [t.small], ...t.small }, (err, r) =>
        err ? reject(err) : resolve(r),
      ),
    );

  const clientLog = [];
  /** One request; `until` is 'end' (the whole answer) or 'first' (its first body bytes). */
  async function one(t, pool, req, setting, until, record) {
    const start = performance.timeOrigin + performance.now();
    const res = await pool.request(req);
    if (until === 'first') {
      const it = res.body[Symbol.asyncIterator]();
      await it.next();
      const end = performance.timeOrigin + performance.now();
      for (let x = await it.next(); !x.done; x = await it.next());
      if (record) clientLog.push({ target: t.name, setting, start, end });
    } else {
      await res.body.arrayBuffer();
      if (record) clientLog.push({ target: t.name, setting, start, end: performance.timeOrigin + performance.now() });
    }
    if (res.statusCode !== 200) throw new Error(`${t.name}: HTTP ${res.statusCode}`);
  }
  for (const [setting, kind, until, per] of [
    ['small request, concurrency 1', 'small', 'end', 100],
    ['stream, first byte', 'stream', 'first', 10],
  ]) {
    const pools = new Map(targets.map((t) => [t, new Pool(t.url, { connections: 1 })]));
    for (const t of targets) for (let i = 0; i < per; i++) await one(t, pools.get(t), t[kind], setting, until, false);
    for (let r = 0; r < ROUNDS; r++) {
      for (const t of r % 2 ? [...targets].reverse() : targets)
        for (let i = 0; i < per; i++) await one(t, pools.get(t), t[kind], setting, until, true);
    }
    for (const p of pools.values()) await p.close();
  }
  await new Promise((r) => setTimeout(r, 300)); // the probes write each line just after the answer
  for (const p of procs.splice(0)) await stopProcess(p);

  const read = (name) => {
    try {
      return readFileSync(logOf(name), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .sort((a, b) => a.arrived - b.arrived);
    } catch {
      return [];
    }
  };
  const logs = { emulator: read('emulator'), floor: read('floor'), ours: read('ours') };
  /** The record of the request that arrived in [from, to] (requests are one at a time). */
  const within = (records, from, to) => {
    let lo = 0;
    let hi = records.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (records[mid].arrived < from) lo = mid + 1;
      else hi = mid;
    }
    return records[lo] && records[lo].arrived <= to ? records[lo] : undefined;
  };
  const STAGES = [
    ['client → gateway', (c, p) => p.arrived - c.start],
    ['gateway, before sending upstream', (c, p) => p.sent - p.arrived],
    ['gateway → upstream', (c, p, e) => e.arrived - p.sent],
    ['upstream (the emulator) to its first write', (c, p, e) => e.wrote - e.arrived],
    ['upstream → gateway', (c, p, e) => p.answered - e.wrote],
    ['gateway, answer to its first write', (c, p) => p.wrote - p.answered],
    ['gateway → client', (c, p) => c.end - p.wrote],
  ];
  const DIRECT = [
    ['client → emulator', (c, p, e) => e.arrived - c.start],
    ['upstream (the emulator) to its first write', (c, p, e) => e.wrote - e.arrived],
    ['emulator → client', (c, p, e) => c.end - e.wrote],
  ];
  const results = {};
  for (const setting of [...new Set(clientLog.map((c) => c.setting))]) {
    results[setting] = {};
    for (const t of targets) {
      const stages = t.log ? STAGES : DIRECT;
      const samples = Object.fromEntries(stages.map(([name]) => [name, []]));
      const totals = [];
      for (const c of clientLog.filter((x) => x.setting === setting && x.target === t.name)) {
        const e = within(logs.emulator, c.start, c.end);
        const p = t.log ? within(logs[t.log], c.start, c.end) : undefined;
        if (!e || (t.log && !p)) continue;
        for (const [name, f] of stages) samples[name].push(f(c, p, e));
        totals.push(c.end - c.start);
      }
      results[setting][t.name] = {
        requests: totals.length,
        totalMs: round(median(totals), 3),
        stagesMs: Object.fromEntries(stages.map(([name]) => [name, round(median(samples[name]), 3)])),
      };
    }
  }
  for (const [setting, byTarget] of Object.entries(results)) {
    console.log(`\n${setting}: median ms per stage (${Object.values(byTarget)[0].requests} requests per target)`);
    const names = [DIRECT[0][0], ...STAGES.map(([n]) => n), DIRECT[2][0]].filter((n) =>
      Object.values(byTarget).some((r) => n in r.stagesMs),
    );
    console.table(
      Object.fromEntries([
        ...names.map((n) => [
          n,
          Object.fromEntries(Object.entries(byTarget).map(([t, r]) => [t, r.stagesMs[n] ?? ''])),
        ]),
        ['whole request (client)', Object.fromEntries(Object.entries(byTarget).map(([t, r]) => [t, r.totalMs]))],
      ]),
    );
  }
  // The preflight on a Claude-Code-sized request, in this process (bench/preflight.mjs).
  const preflight = runPreflightBench({ quick });
  console.log(
    `\npreflight, ${preflight.bodyBytes} bytes (Claude-Code-sized): checkRequest ${preflight.checkRequestUs} us median, of it the block schema and cross-field rules ${preflight.schemaAndCrossFieldUs} us; JSON.parse of the same body ${preflight.jsonParseUs} us (goal: validation at most ${preflight.goalUs} us)`,
  );
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(
    'bench/results/stages.json',
    JSON.stringify(
      { date: new Date().toISOString(), node: process.version, quick, rounds: ROUNDS, results, preflight },
      null,
      2,
    ) + '\n',
  );
} finally {
  for (const p of procs) await stopProcess(p);
  rmSync(dir, { recursive: true, force: true });
}
