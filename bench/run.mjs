// npm run bench [-- --quick]: runs the benchmark suites and writes bench/results/latest.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { runEmulatorBench } from './emulator.mjs';

const quick = process.argv.includes('--quick');
process.env.AWS_EC2_METADATA_DISABLED = 'true';
const results = [];
const emulator = await runEmulatorBench({ quick });
results.push(emulator);
console.table(results.map((r) => ({ setting: r.setting, 'req/s': r.reqPerSec, 'p50 ms': r.p50Ms, 'p99 ms': r.p99Ms, 'CPU ms/req': r.cpuMsPerRequest, non2xx: r.non2xx, goal: r.goal })));
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/latest.json', JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, quick, results }, null, 2));
if (results.some((r) => r.non2xx || r.errors)) {
  console.error('some requests failed');
  process.exit(1);
}
