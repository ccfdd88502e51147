import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// Soak: 100,000 mixed streaming and non-streaming requests through the gateway with faults on.
// Checks: RSS growth after warm-up under 10% (the lowest RSS, just after a collection, in the last 30%
// of the run against the lowest in 10-40%: a single sample swings with the garbage collector by up
// to ±15%, a leak raises the lows), no leaked sockets, every request accounted for in the gateway's logs and metrics (requests in = responses out).
import { readdirSync, readlinkSync } from 'node:fs';
import { Pool } from 'undici';
import { EMULATOR_CREDENTIALS } from '../dist/emulator/emulator.js';
import { ENV, rssMb, startProcess, stopProcess } from './lib.mjs';

function sockets(pid) {
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
    } catch {
      return false;
    }
  }).length;
}

export async function runSoak({ total = 100_000, concurrency = 32 } = {}) {
  const env = {
    ...ENV,
    AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
  };
  const emulator = await startProcess('emulator', [
    'dist/cli/main.js',
    'emulator',
    '--port',
    '0',
    '--seed',
    '7',
    '--faults',
    'throttle=0.02,error500=0.01,unavailable=0.01,midstream=0.01,reset=0.005',
  ]);
  const gateway = await startProcess(
    'gateway',
    [
      'dist/cli/main.js',
      'serve',
      '--data-dir',
      mkdtempSync(join(tmpdir(), 'bedrock-claude-soak-')),
      '--port',
      '0',
      '--bedrock-endpoint',
      emulator.url,
    ],
    { env },
  );
  let logLines = 0;
  gateway.child.stdout.on('data', (d) => (logLines += String(d).split('"path":"/v1/messages"').length - 1));
  const pool = new Pool(gateway.url, { connections: concurrency });
  const statuses = {};
  let sent = 0;
  let streamErrors = 0;
  let warmSockets = NaN;
  const warmSamples = [];
  const endSamples = [];
  const sampler = setInterval(() => {
    if (sent >= total * 0.1 && sent < total * 0.4) warmSamples.push(rssMb(gateway.pid));
    else if (sent >= total * 0.7) endSamples.push(rssMb(gateway.pid));
  }, 100);
  const started = Date.now();
  async function worker(id) {
    while (sent < total) {
      const n = sent++;
      const stream = n % 2 === 0;
      const body = JSON.stringify({
        model: n % 3 ? 'claude-haiku-4-5' : 'claude-sonnet-4-5',
        max_tokens: 64,
        stream,
        messages: [{ role: 'user', content: `soak ${n} from ${id}` }],
      });
      try {
        const res = await pool.request({
          method: 'POST',
          path: '/v1/messages',
          headers: { 'content-type': 'application/json' },
          body,
        });
        const text = await res.body.text();
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        if (stream && res.statusCode === 200 && text.includes('event: error')) streamErrors++;
      } catch {
        statuses['network'] = (statuses['network'] ?? 0) + 1;
      }
      if (n === Math.floor(total / 10)) warmSockets = sockets(gateway.pid);
    }
  }
  try {
    await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(i)));
    const seconds = (Date.now() - started) / 1000;
    clearInterval(sampler);
    const warmRss = Math.min(...warmSamples);
    const endRss = Math.min(...endSamples);
    await pool.close();
    await new Promise((r) => setTimeout(r, 1500));
    const endSockets = sockets(gateway.pid);
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    const counted = [
      ...metrics.matchAll(/bedrock_claude_requests_total\{path="\/v1\/messages",status="\d+"\} (\d+)/g),
    ].reduce((a, m) => a + Number(m[1]), 0);
    await new Promise((r) => setTimeout(r, 1500)); // the gateway flushes buffered log lines every second
    const answered = Object.entries(statuses)
      .filter(([k]) => k !== 'network')
      .reduce((a, [, v]) => a + v, 0);
    const result = {
      requests: total,
      seconds: Math.round(seconds),
      reqPerSec: Math.round(total / seconds),
      statuses,
      streamsEndedWithErrorEvent: streamErrors,
      rssWarmMb: Math.round(warmRss),
      rssEndMb: Math.round(endRss),
      rssGrowthPct: Math.round(((endRss - warmRss) / warmRss) * 1000) / 10,
      rssSamples: [warmSamples.length, endSamples.length],
      socketsAtWarmUp: warmSockets,
      socketsAfterClientsLeft: endSockets,
      countedInMetrics: counted,
      loggedLines: logLines,
      accountedFor: counted === answered && logLines === answered,
    };
    result.ok = result.rssGrowthPct < 10 && result.accountedFor && !statuses['network'] && endSockets <= warmSockets;
    return result;
  } finally {
    clearInterval(sampler);
    await stopProcess(gateway);
    await stopProcess(emulator);
  }
}
