// npm run bench [-- --quick] [-- --profile] [-- --soak]: runs the suites, prints the tables,
// writes bench/results/latest.json and bench/results/chart.svg.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { promisify } from 'node:util';
import { runEmulatorBench } from './emulator.mjs';
import { runGatewayBench, summarise } from './gateway.mjs';
import { chartSvg } from './chart.mjs';

const quick = process.argv.includes('--quick');
const profile = process.argv.includes('--profile');
const soakOnly = process.argv.includes('--soak');
process.env.AWS_EC2_METADATA_DISABLED = 'true';
mkdirSync('bench/results', { recursive: true });
const started = Date.now();
const out = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  cpu: cpus()[0]?.model,
  quick,
};

if (!soakOnly) {
  out.emulator = await runEmulatorBench({ quick });
  console.log(
    `emulator: ${out.emulator.reqPerSec} req/s at concurrency 64 (goal >= 5000), p50 ${out.emulator.p50Ms} ms, ${out.emulator.cpuMsPerRequest} ms CPU per request`,
  );

  const run = await runGatewayBench({ quick, profile });
  const rows = summarise(run);
  out.gateway = {
    rows,
    ttfbMs: run.ttfbs,
    transcodeMBps: run.mbps,
    openStreams: run.streams,
    peerRssMb: run.peerRssMb,
    rounds: run.rounds,
    secondsPerRun: run.duration,
  };
  console.table(
    rows.map((r) => ({
      setting: r.setting,
      target: r.target,
      'req/s': r.rps,
      spread: r.rpsSpread.join('–'),
      'p50 ms': r.p50?.toFixed?.(2) ?? r.p50,
      'added p50': r.addedP50,
      'added p99': r.addedP99,
      'x floor': r.ratioToFloor,
      'CPU ms/req': r.cpuMsPerReq,
      'CPU x floor': r.cpuRatioToFloor,
    })),
  );
  const direct = run.ttfbs['direct'];
  console.log(
    `streaming, 1,000 events: TTFB direct ${direct.toFixed(2)} ms, floor +${(run.ttfbs['floor'] - direct).toFixed(2)} ms, ours +${(run.ttfbs['ours (Anthropic front)'] - direct).toFixed(2)} ms, peer +${(run.ttfbs['peer (Portkey 1.15.2)'] - direct).toFixed(2)} ms; transcoding ${run.mbps.toFixed(0)} MB/s`,
  );
  const f = run.streams.floor;
  console.log(
    `${run.streams.ok} streams, at most ${run.streams.opened} open at once: gateway RSS ${run.streams.before.toFixed(0)} MB before, ${run.streams.peak.toFixed(0)} MB at the peak; floor ${f.before.toFixed(0)} -> ${f.peak.toFixed(0)} MB (${f.ok} answered, at most ${f.opened} open)`,
  );
  writeFileSync('bench/results/chart.svg', chartSvg(rows));

  // The machine: how much slower the same code runs after a moment of idling (bench/cold.mjs).
  out.machine = JSON.parse((await promisify(execFile)(process.execPath, ['bench/cold.mjs'])).stdout);
  console.log(
    `machine: one SigV4 signature takes ${out.machine.hotUs} us back to back, ${out.machine.idle1msUs} / ${out.machine.idle3msUs} / ${out.machine.idle10msUs} us after 1 / 3 / 10 ms idle`,
  );
}

if (soakOnly || (!quick && process.argv.includes('--with-soak'))) {
  const { runSoak } = await import('./soak.mjs');
  out.soak = await runSoak({ total: Number(process.env.SOAK_REQUESTS ?? 100_000) });
  console.log('soak:', JSON.stringify(out.soak));
}

out.seconds = Math.round((Date.now() - started) / 1000);
writeFileSync(`bench/results/${soakOnly ? 'soak' : 'latest'}.json`, JSON.stringify(out, null, 2));
console.log(`done in ${out.seconds} s`);
