// Emulator throughput: small signed InvokeModel echo requests, signature checks on, concurrency 64.
// The emulator runs in its own process (the built CLI); load comes from this process (autocannon).
// Requests are signed once and replayed: SigV4 allows 5 minutes of clock skew, and the emulator
// still verifies every signature in full, which is the cost being measured.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import autocannon from 'autocannon';
import { createCredentialCache } from '../dist/aws/credentials.js';
import { createBedrockSigner } from '../dist/aws/signer.js';
import { EMULATOR_CREDENTIALS } from '../dist/emulator/emulator.js';

export async function startEmulatorProcess(extraArgs = []) {
  const child = spawn(process.execPath, ['dist/cli/main.js', 'emulator', '--port', '0', ...extraArgs], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' } });
  let out = '';
  for await (const chunk of child.stdout) {
    out += chunk;
    const m = /listening on (http:\/\/\S+)/.exec(out);
    if (m) return { url: m[1], child, pid: child.pid };
  }
  throw new Error(`emulator did not start: ${out}`);
}

export async function signedInvoke(url, modelId, body, region = 'us-west-2') {
  const sign = createBedrockSigner({ region, auth: { kind: 'sigv4', credentials: createCredentialCache(EMULATOR_CREDENTIALS) } });
  const u = new URL(url);
  u.pathname = `/model/${encodeURIComponent(modelId)}/invoke`;
  const payload = JSON.stringify(body);
  const headers = await sign({ method: 'POST', url: u, headers: { 'content-type': 'application/json' }, body: payload });
  return { path: u.pathname, headers, body: payload };
}

export function cpuMsOf(pid) {
  // utime + stime in clock ticks from /proc (100 Hz on Linux).
  return import('node:fs').then(({ readFileSync }) => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  });
}

export async function runEmulatorBench({ quick = false } = {}) {
  const emu = await startEmulatorProcess();
  try {
    const req = await signedInvoke(emu.url, 'us.anthropic.claude-haiku-4-5-20251001-v1:0', { anthropic_version: 'bedrock-2023-05-31', max_tokens: 32, messages: [{ role: 'user', content: 'ping' }] });
    const run = (duration) => autocannon({ url: emu.url, method: 'POST', connections: 64, duration, requests: [req], headers: req.headers, body: req.body });
    await run(quick ? 1 : 2); // warm-up
    const cpu0 = await cpuMsOf(emu.pid);
    const result = await run(quick ? 3 : 10);
    const cpu1 = await cpuMsOf(emu.pid);
    const ok = result['2xx'];
    return {
      setting: 'emulator, small signed InvokeModel, concurrency 64',
      reqPerSec: Math.round(result.requests.average),
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      non2xx: result.non2xx,
      errors: result.errors,
      cpuMsPerRequest: ok ? Math.round(((cpu1 - cpu0) / ok) * 1000) / 1000 : null,
      goal: '>= 5000 req/s',
    };
  } finally {
    emu.child.kill('SIGTERM');
    await once(emu.child, 'exit');
  }
}
