// npm run bench:instructions -- --base REF: instructions per request (valgrind's callgrind counts
// them: repeatable on a loaded machine, where req/s is not) for REF and this checkout. Each build
// serves 400 and then 1,200 in-process requests to a fixed upstream (bench/instructions.mjs); the
// difference over the 800 between is the steady state, start-up and JIT warm-up left out.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const args = process.argv.slice(2);
const ref = args.includes('--base') ? args[args.indexOf('--base') + 1] : 'HEAD';
const dir = resolve('.tmp/instructions-base');
if (existsSync(dir)) execFileSync('git', ['worktree', 'remove', '--force', dir]);
mkdirSync('.tmp', { recursive: true });
execFileSync('git', ['worktree', 'add', '--detach', dir, ref], { stdio: 'ignore' });
symlinkSync(resolve('node_modules'), `${dir}/node_modules`);
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { cwd: dir });
execFileSync(process.execPath, ['scripts/copy-assets.mjs'], { cwd: dir });

function instructions(dist, n) {
  const run = spawnSync(
    'valgrind',
    ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, 'bench/instructions.mjs', dist, String(n)],
    { encoding: 'utf8', env: Object.assign({}, process.env, { AWS_EC2_METADATA_DISABLED: 'true' }) },
  );
  const m = /Collected : (\d+)/.exec(run.stderr);
  if (!m) throw new Error(`valgrind said no count: ${run.stderr.slice(-500)}`);
  return Number(m[1]);
}

const perRequest = (dist) => (instructions(dist, 1200) - instructions(dist, 400)) / 800;
const base = perRequest(`${dir}/dist`);
const self = perRequest(resolve('dist'));
const out = {
  date: new Date().toISOString(),
  node: process.version,
  base: ref,
  instructionsPerRequest: { base, this: self },
  ratio: self / base,
};
console.log(JSON.stringify(out, null, 2));
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/instructions.json', JSON.stringify(out, null, 2));
execFileSync('git', ['worktree', 'remove', '--force', dir]);
