// npm run bench:compare -- --base REF [--quick] [--store]: the gateway built from git REF beside this checkout's
// build, in one run on the same emulator: throughput at concurrency 64 and CPU per request on both
// fronts, concurrency-1 latency, and a stream's first byte. A structural change must not cost speed:
// the ratios (this checkout / REF) are the figures; absolute numbers swing with the machine.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { load, requestsFor, ttfb } from './gateway.mjs';
import { EMULATOR_ENV, median, MODEL, round, SMALL, spread, startProcess, STREAM_1000, stopProcess } from './lib.mjs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const withStore = args.includes('--store');
const ref = args[args.indexOf('--base') + 1] && args.includes('--base') ? args[args.indexOf('--base') + 1] : 'HEAD';
const duration = quick ? 3 : 8;
const rounds = quick ? 2 : 5;

/** A build of REF in .tmp/bench-base (a git worktree sharing this checkout's node_modules). */
function buildBase(gitRef) {
  const dir = resolve('.tmp/bench-base');
  const commit = execFileSync('git', ['rev-parse', gitRef], { encoding: 'utf8' }).trim();
  if (existsSync(dir)) execFileSync('git', ['worktree', 'remove', '--force', dir]);
  mkdirSync('.tmp', { recursive: true });
  execFileSync('git', ['worktree', 'add', '--detach', dir, commit], { stdio: 'ignore' });
  symlinkSync(resolve('node_modules'), `${dir}/node_modules`);
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    cwd: dir,
    stdio: 'inherit',
  });
  execFileSync(process.execPath, ['scripts/copy-assets.mjs'], { cwd: dir, stdio: 'inherit' });
  return { dir, commit };
}

const base = buildBase(ref);
const env = EMULATOR_ENV;
const procs = [];
try {
  const emulator = await startProcess(
    'emulator',
    ['dist/cli/main.js', 'emulator', '--port', '0', '--delta-chars', '4'],
    { env },
  );
  procs.push(emulator);
  // Both without the control plane where the build has one (--no-store): this compares the request path. With
  // --store, each on a data directory of its own (no keys: every request in the ledger).
  const storeFlag = (cli) =>
    withStore
      ? ['--data-dir', mkdtempSync(join(tmpdir(), 'bedrock-claude-bench-compare-'))]
      : execFileSync(process.execPath, [cli, 'serve', '--help'], { encoding: 'utf8' }).includes('--no-store')
        ? ['--no-store']
        : [];
  const serve = (name, cli) =>
    startProcess(name, [cli, 'serve', ...storeFlag(cli), '--port', '0', '--bedrock-endpoint', emulator.url], { env });
  const before = await serve('base', `${base.dir}/dist/cli/main.js`);
  const after = await serve('this checkout', 'dist/cli/main.js');
  procs.push(before, after);
  const targets = [];
  for (const [who, p] of [
    ['base', before],
    ['this', after],
  ]) {
    targets.push({ name: `${who} anthropic`, who, front: 'anthropic', kind: 'anthropic', url: p.url, pid: p.pid });
    targets.push({ name: `${who} bedrock`, who, front: 'bedrock', kind: 'bedrock', url: p.url, pid: p.pid });
  }
  const reqs = await requestsFor(targets, emulator.url, SMALL);
  for (const t of targets) await load(t, reqs[t.name], 8, quick ? 2 : 5);
  const results = Object.fromEntries(targets.map((t) => [t.name, { c64: [], c1: [] }]));
  for (let r = 0; r < rounds; r++) {
    for (const t of r % 2 ? [...targets].reverse() : targets) {
      results[t.name].c64.push(await load(t, reqs[t.name], 64, duration));
      results[t.name].c1.push(await load(t, reqs[t.name], 1, quick ? 2 : 4));
    }
  }
  const stream = {
    path: '/v1/messages',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, stream: true, ...STREAM_1000 }),
  };
  const firstBytes = { base: [], this: [] };
  const streamTargets = targets.filter((t) => t.front === 'anthropic');
  for (const t of streamTargets) await ttfb(t, stream, 0, 30);
  for (let r = 0; r < (quick ? 2 : 8); r++)
    for (const t of r % 2 ? [...streamTargets].reverse() : streamTargets)
      firstBytes[t.who].push(...(await ttfb(t, stream, 10)));

  const m = (name, setting, field) => median(results[name][setting].map((x) => x[field]));
  const rows = [];
  for (const front of ['anthropic', 'bedrock']) {
    const b = `base ${front}`;
    const a = `this ${front}`;
    rows.push({
      front,
      'c64 req/s base': round(m(b, 'c64', 'rps'), 0),
      'c64 req/s this': round(m(a, 'c64', 'rps'), 0),
      'c64 ratio': round(m(a, 'c64', 'rps') / m(b, 'c64', 'rps'), 3),
      'CPU ms/req base': round(m(b, 'c64', 'cpuPerReq'), 4),
      'CPU ms/req this': round(m(a, 'c64', 'cpuPerReq'), 4),
      'CPU ratio': round(m(a, 'c64', 'cpuPerReq') / m(b, 'c64', 'cpuPerReq'), 3),
      'c1 p50 base': round(m(b, 'c1', 'p50'), 3),
      'c1 p50 this': round(m(a, 'c1', 'p50'), 3),
      'c64 spread this': spread(results[a].c64.map((x) => x.rps))
        .map((x) => round(x, 0))
        .join('–'),
    });
  }
  console.table(rows);
  const ttfbRow = { base: round(median(firstBytes.base), 3), this: round(median(firstBytes.this), 3) };
  console.log(`first byte of a 1,000-event stream (median ms): base ${ttfbRow.base}, this ${ttfbRow.this}`);
  const out = {
    date: new Date().toISOString(),
    node: process.version,
    base: { ref, commit: base.commit },
    quick,
    store: withStore,
    rounds,
    secondsPerLoad: duration,
    rows,
    ttfbMs: ttfbRow,
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(`bench/results/compare${withStore ? '-store' : ''}.json`, JSON.stringify(out, null, 2));
} finally {
  for (const p of procs.reverse()) await stopProcess(p);
  execFileSync('git', ['worktree', 'remove', '--force', resolve('.tmp/bench-base')]);
}
