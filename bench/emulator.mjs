// Emulator throughput: small signed InvokeModel echo requests, signature checks on, concurrency 64.
// The emulator runs in its own process (the built CLI); load comes from this process (autocannon).
// Requests are signed once and replayed: SigV4 allows 5 minutes of clock skew, and the emulator
// still verifies every signature in full, which is the cost being measured.
import autocannon from 'autocannon';
import { cpuMs, signedInvoke, startProcess, stopProcess } from './lib.mjs';

export async function runEmulatorBench({ quick = false } = {}) {
  const emu = await startProcess('emulator', ['dist/cli/main.js', 'emulator', '--port', '0']);
  try {
    const req = await signedInvoke(emu.url, 'us.anthropic.claude-haiku-4-5-20251001-v1:0', {
      anthropic_version: 'bedrock-2023-05-31',
      max_tokens: 32,
      messages: [{ role: 'user', content: 'ping' }],
    });
    const run = (duration) =>
      autocannon({
        url: emu.url,
        method: 'POST',
        connections: 64,
        duration,
        requests: [req],
        headers: req.headers,
        body: req.body,
      });
    await run(quick ? 1 : 2); // warm-up
    const cpu0 = cpuMs(emu.pid);
    const result = await run(quick ? 3 : 10);
    const cpu1 = cpuMs(emu.pid);
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
    await stopProcess(emu);
  }
}
