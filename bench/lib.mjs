// Shared helpers for the benchmarks: processes, /proc readings, signed requests, statistics.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createCredentialCache } from '../dist/aws/credentials.js';
import { createBedrockSigner } from '../dist/aws/signer.js';
import { EMULATOR_CREDENTIALS } from '../dist/emulator/emulator.js';

export const ENV = { ...process.env, AWS_EC2_METADATA_DISABLED: 'true', NODE_ENV: 'production', NODE_NO_WARNINGS: '1' };
/** ENV plus the emulator's keys and a region: what the gateway and the emulator run with in the benches. */
export const EMULATOR_ENV = {
  ...ENV,
  AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
  AWS_REGION: 'us-west-2',
};

/** The model every bench calls, by its Anthropic name and by the Bedrock ID the floor and direct calls use. */
export const MODEL = 'claude-haiku-4-5';
export const MODEL_ID = 'global.anthropic.claude-haiku-4-5-20251001-v1:0';
/** A small request. */
export const SMALL = { max_tokens: 32, messages: [{ role: 'user', content: 'ping' }] };
/** With the emulator's `--delta-chars 4`, a streamed answer of 1,000 events. */
export const STREAM_1000 = { max_tokens: 2000, messages: [{ role: 'user', content: 'abcd'.repeat(1000) }] };

/** Starts a process and waits until it prints a URL (or `readyPattern`). */
export async function startProcess(name, args, { env = ENV, ready = /listening on (http:\/\/[^\s)]+)/, url } = {}) {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  // Listeners, not `for await`: leaving a for-await loop would destroy the pipe the process logs to.
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${out.slice(-2000)}`)), 30_000);
    const onData = (d) => {
      out += d;
      const m = ready.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.stderr.off('data', onData);
      child.stdout.resume();
      child.stderr.resume();
      resolve({ name, child, pid: child.pid, url: url ?? m[1] });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}: ${out.slice(-2000)}`)));
  });
}

export async function stopProcess(p) {
  if (!p || p.child.exitCode !== null) return;
  p.child.kill('SIGTERM');
  await Promise.race([once(p.child, 'exit'), new Promise((r) => setTimeout(r, 3000))]);
  if (p.child.exitCode === null) p.child.kill('SIGKILL');
}

/** CPU time (user + system) of a process, in ms. */
export function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Resident memory of a process, in MB. */
export function rssMb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** A SigV4-signed InvokeModel request for the emulator (valid for five minutes, replayable). */
export async function signedInvoke(url, modelId, body, op = 'invoke') {
  const sign = createBedrockSigner({
    region: 'us-west-2',
    auth: { kind: 'sigv4', credentials: createCredentialCache(EMULATOR_CREDENTIALS) },
  });
  const u = new URL(url);
  u.pathname = `/model/${encodeURIComponent(modelId)}/${op}`;
  const payload = JSON.stringify(body);
  const headers = await sign({
    method: 'POST',
    url: u,
    headers: { 'content-type': 'application/json' },
    body: payload,
  });
  return { path: u.pathname, headers, body: payload };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
}

export function spread(xs) {
  return xs.length ? [Math.min(...xs), Math.max(...xs)] : [NaN, NaN];
}

export const round = (x, digits = 2) => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : null);
