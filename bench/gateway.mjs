// The gateway's cost beside a direct call, the floor (a bare pass-through proxy) and a peer
// (Portkey's open-source gateway), measured side by side in one run on this machine.
import autocannon from 'autocannon';
import { request } from 'undici';
import { EMULATOR_CREDENTIALS } from '../dist/emulator/emulator.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  cpuMs,
  EMULATOR_ENV,
  ENV,
  median,
  MODEL,
  MODEL_ID,
  round,
  rssMb,
  signedInvoke,
  SMALL,
  spread,
  startProcess,
  STREAM_1000,
  stopProcess,
} from './lib.mjs';

// About the size of a Claude Code request: a long conversation, a small answer (max_tokens caps the echo).
const BIG = { max_tokens: 32, messages: [{ role: 'user', content: 'x'.repeat(80 * 1024) }] };

function portkeyHeaders(emulatorUrl) {
  return {
    'x-portkey-provider': 'bedrock',
    'x-portkey-aws-access-key-id': EMULATOR_CREDENTIALS.accessKeyId,
    'x-portkey-aws-secret-access-key': EMULATOR_CREDENTIALS.secretAccessKey,
    'x-portkey-aws-region': 'us-west-2',
    'x-portkey-custom-host': emulatorUrl,
  };
}

/** The request each target gets for a body: the same call, in the shape that target speaks. */
export async function requestsFor(targets, emulatorUrl, body) {
  const signed = await signedInvoke(emulatorUrl, MODEL_ID, { anthropic_version: 'bedrock-2023-05-31', ...body });
  const anthropic = JSON.stringify({ model: MODEL, ...body });
  const out = {};
  for (const t of targets) {
    if (t.kind === 'direct' || t.kind === 'floor')
      out[t.name] = { method: 'POST', path: signed.path, headers: signed.headers, body: signed.body };
    else if (t.kind === 'anthropic')
      out[t.name] = {
        method: 'POST',
        path: '/v1/messages',
        headers: { 'content-type': 'application/json' },
        body: anthropic,
      };
    else if (t.kind === 'bedrock')
      out[t.name] = {
        method: 'POST',
        path: `/model/${encodeURIComponent(MODEL_ID)}/invoke`,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', ...body }),
      };
    else if (t.kind === 'peer')
      out[t.name] = {
        method: 'POST',
        path: '/v1/messages',
        headers: { 'content-type': 'application/json', ...portkeyHeaders(emulatorUrl) },
        body: JSON.stringify({ model: MODEL_ID, ...body }),
      };
  }
  return out;
}

/** Sequential requests on one keep-alive connection, timed to the microsecond (autocannon rounds to the millisecond). */
async function sequential(target, req, duration) {
  const { Pool } = await import('undici');
  const pool = new Pool(target.url, { connections: 1 });
  const times = [];
  const cpu0 = target.pid ? cpuMs(target.pid) : 0;
  const end = performance.now() + duration * 1000;
  while (performance.now() < end) {
    const t0 = performance.now();
    const res = await pool.request({ method: req.method, path: req.path, headers: req.headers, body: req.body });
    await res.body.arrayBuffer();
    if (res.statusCode !== 200) throw new Error(`${target.name}: HTTP ${res.statusCode}`);
    times.push(performance.now() - t0);
  }
  const cpu1 = target.pid ? cpuMs(target.pid) : 0;
  await pool.close();
  times.sort((a, b) => a - b);
  return {
    rps: times.length / duration,
    p50: times[Math.floor(times.length * 0.5)],
    p99: times[Math.floor(times.length * 0.99)],
    cpuPerReq: target.pid ? (cpu1 - cpu0) / times.length : NaN,
  };
}

export async function load(target, req, connections, duration) {
  if (connections === 1) return sequential(target, req, duration);
  const cpu0 = target.pid ? cpuMs(target.pid) : 0;
  // autocannon's own percentiles are whole milliseconds: keep each response's time (fractional ms) instead.
  const times = [];
  const r = await new Promise((resolve, reject) => {
    const run = autocannon({ url: target.url, connections, duration, requests: [req], ...req }, (err, result) =>
      err ? reject(err) : resolve(result),
    );
    run.on('response', (_client, status, _bytes, ms) => {
      if (status === 200) times.push(ms);
    });
  });
  const cpu1 = target.pid ? cpuMs(target.pid) : 0;
  const ok = r['2xx'];
  if (r.non2xx || r.errors)
    throw new Error(`${target.name}: ${r.non2xx} non-2xx and ${r.errors} errors of ${r.requests.total}`);
  times.sort((a, b) => a - b);
  return {
    rps: r.requests.average,
    p50: times[Math.floor(times.length * 0.5)],
    p99: times[Math.floor(times.length * 0.99)],
    cpuPerReq: target.pid && ok ? (cpu1 - cpu0) / ok : NaN,
  };
}

/** Times to the first byte of `n` streamed answers, sequential requests (after `warmUp` untimed ones). */
export async function ttfb(target, req, n, warmUp = 0) {
  const times = [];
  for (let i = 0; i < n + warmUp; i++) {
    const t0 = performance.now();
    const res = await request(new URL(req.path, target.url), { method: 'POST', headers: req.headers, body: req.body });
    const it = res.body[Symbol.asyncIterator]();
    await it.next();
    if (i >= warmUp) times.push(performance.now() - t0);
    for (let x = await it.next(); !x.done; x = await it.next());
  }
  return times;
}

/** Event-stream → SSE transcoding throughput (bench/transcode.mjs, in a process of its own): MB/s. */
async function transcodeThroughput(quick) {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['bench/transcode.mjs', ...(quick ? ['--quick'] : [])],
    { env: ENV },
  );
  return JSON.parse(stdout).mbps;
}

const HOLD = { max_tokens: 200, messages: [{ role: 'user', content: 'hold this stream open for a while '.repeat(4) }] };

/**
 * 1,000 streams held open through a target at once (each lasts ~4 s: 500 ms between events, so all are open at once even on a slow run): its
 * RSS at the peak. `req` is the streaming request in the target's shape.
 */
async function openStreams(url, pid, count, req) {
  const before = rssMb(pid);
  let peak = before;
  let open = 0;
  let maxOpen = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 50);
  const { Agent } = await import('undici');
  const agent = new Agent({ connections: count + 10, pipelining: 0 });
  const all = Array.from({ length: count }, async () => {
    const res = await request(new URL(req.path, url), {
      method: 'POST',
      headers: req.headers,
      body: req.body,
      dispatcher: agent,
    });
    maxOpen = Math.max(maxOpen, ++open);
    for await (const _ of res.body) void _;
    open--;
    return res.statusCode;
  });
  const statuses = await Promise.all(all);
  clearInterval(sampler);
  await agent.close();
  // `opened`: the most streams that had their first byte and were not finished, at one moment.
  return { before, peak, ok: statuses.filter((s) => s === 200).length, opened: maxOpen };
}

export async function runGatewayBench({ quick = false, profile = false } = {}) {
  const duration = quick ? 3 : 10;
  const rounds = quick ? 1 : 3;
  const env = EMULATOR_ENV;
  // Deltas of at most 4 characters make the streaming setting's answers 1,000 events long; answers
  // that are not streamed are the same either way.
  const emulator = await startProcess(
    'emulator',
    ['dist/cli/main.js', 'emulator', '--port', '0', '--delta-chars', '4'],
    { env },
  );
  const slowEmulator = await startProcess(
    'slow emulator',
    ['dist/cli/main.js', 'emulator', '--port', '0', '--faults', 'gap=500ms'],
    { env },
  );
  const procs = [emulator, slowEmulator];
  try {
    const floor = await startProcess('floor', ['bench/floor-proxy.mjs', emulator.url], { env });
    const ours = await startProcess(
      'ours',
      [
        ...(profile ? ['--cpu-prof', '--cpu-prof-dir=bench/results/profile'] : []),
        'dist/cli/main.js',
        'serve',
        '--no-store',
        '--port',
        '0',
        '--bedrock-endpoint',
        emulator.url,
      ],
      { env: { ...env, LOG_LEVEL: 'info' } },
    );
    const port = 20000 + Math.floor(Math.random() * 20000);
    const peer = await startProcess(
      'peer',
      ['node_modules/@portkey-ai/gateway/build/start-server.js', `--port=${port}`, '--headless'],
      { env, ready: /Ready for connections/, url: `http://127.0.0.1:${port}` },
    );
    procs.push(floor, ours, peer);
    // Our log goes to a pipe the bench drains (one JSON line per request), as it would to a collector.
    const targets = [
      { name: 'direct', kind: 'direct', url: emulator.url, pid: undefined },
      { name: 'floor', kind: 'floor', url: floor.url, pid: floor.pid },
      { name: 'ours (Anthropic front)', kind: 'anthropic', url: ours.url, pid: ours.pid },
      { name: 'ours (Bedrock front)', kind: 'bedrock', url: ours.url, pid: ours.pid },
      { name: 'peer (Portkey 1.15.2)', kind: 'peer', url: peer.url, pid: peer.pid },
    ];
    // Warm-up, the same for every target: a gateway's JIT takes seconds of traffic to settle (ours ran
    // ~20% more CPU per request at concurrency 1 after 1 s of it than after 15 s), and a gateway in
    // service is past that. The floor has far less code to compile, so a short warm-up favours it.
    const warm = await requestsFor(targets, emulator.url, SMALL);
    for (const t of targets) await load(t, warm[t.name], 8, quick ? 2 : 5);

    const settings = [
      { key: 'c1', label: 'small request, concurrency 1', body: SMALL, connections: 1 },
      { key: 'c64', label: 'small request, concurrency 64', body: SMALL, connections: 64 },
      { key: 'big16', label: '~80 KB request, concurrency 16', body: BIG, connections: 16 },
    ];
    const results = {};
    for (const s of settings) {
      results[s.key] = Object.fromEntries(targets.map((t) => [t.name, []]));
      for (let r = 0; r < rounds; r++) {
        const order = r % 2 ? [...targets].reverse() : targets;
        for (const t of order) {
          // Signed just before use: a SigV4 signature is good for five minutes, a full run is longer.
          const reqs = await requestsFor([t], emulator.url, s.body);
          results[s.key][t.name].push(await load(t, reqs[t.name], s.connections, duration));
        }
      }
    }

    // Streaming: added time to first byte with 1,000 events per answer.
    const streamBody = STREAM_1000;
    // The same processes as above, warm from the settings before (as a gateway in service is).
    const streamTargets = [
      { name: 'direct', kind: 'direct', url: emulator.url },
      { name: 'floor', kind: 'floor', url: floor.url },
      { name: 'ours (Anthropic front)', kind: 'anthropic', url: ours.url },
      { name: 'peer (Portkey 1.15.2)', kind: 'peer', url: peer.url },
    ];
    const streamReqs = {};
    const signedStream = await signedInvoke(
      emulator.url,
      MODEL_ID,
      { anthropic_version: 'bedrock-2023-05-31', ...streamBody },
      'invoke-with-response-stream',
    );
    streamReqs['direct'] = signedStream;
    streamReqs['floor'] = signedStream;
    streamReqs['ours (Anthropic front)'] = {
      path: '/v1/messages',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, stream: true, ...streamBody }),
    };
    streamReqs['peer (Portkey 1.15.2)'] = {
      path: '/v1/messages',
      headers: { 'content-type': 'application/json', ...portkeyHeaders(emulator.url) },
      body: JSON.stringify({ model: MODEL_ID, stream: true, ...streamBody }),
    };
    // 50 untimed streams each warm the streaming path, then the targets take turns, 10 streams at a
    // time, so drift does not favour anyone.
    const ttfbTimes = Object.fromEntries(streamTargets.map((t) => [t.name, []]));
    for (const t of streamTargets) await ttfb(t, streamReqs[t.name], 0, 50);
    for (let r = 0; r < (quick ? 2 : 12); r++) {
      for (const t of r % 2 ? [...streamTargets].reverse() : streamTargets)
        ttfbTimes[t.name].push(...(await ttfb(t, streamReqs[t.name], 10)));
    }
    const ttfbs = Object.fromEntries(streamTargets.map((t) => [t.name, median(ttfbTimes[t.name])]));
    const mbps = await transcodeThroughput(quick);

    // 1,000 concurrent open streams through ours, and through the floor for reference (on the slow emulator): RSS.
    const oursSlow = await startProcess(
      'ours (slow)',
      ['dist/cli/main.js', 'serve', '--no-store', '--port', '0', '--bedrock-endpoint', slowEmulator.url],
      { env },
    );
    const floorSlow = await startProcess('floor (slow)', ['bench/floor-proxy.mjs', slowEmulator.url], { env });
    procs.push(oursSlow, floorSlow);
    const count = quick ? 300 : 1000;
    const streams = await openStreams(oursSlow.url, oursSlow.pid, count, {
      path: '/v1/messages',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, stream: true, ...HOLD }),
    });
    const signedHold = await signedInvoke(
      slowEmulator.url,
      MODEL_ID,
      { anthropic_version: 'bedrock-2023-05-31', ...HOLD },
      'invoke-with-response-stream',
    );
    streams.floor = await openStreams(floorSlow.url, floorSlow.pid, count, signedHold);
    const peerRss = rssMb(peer.pid);

    return {
      settings,
      results,
      targets: targets.map((t) => t.name),
      ttfbs,
      mbps,
      streams,
      peerRssMb: peerRss,
      oursRssMb: rssMb(ours.pid),
      rounds,
      duration,
    };
  } finally {
    for (const p of procs.reverse()) await stopProcess(p);
  }
}

/** Rows for the results table: every setting, every target, with the ratios the goals are written in. */
export function summarise(run) {
  const rows = [];
  const m = (key, name, field) => median(run.results[key][name].map((x) => x[field]));
  const sp = (key, name, field) => spread(run.results[key][name].map((x) => x[field]));
  const floorName = 'floor';
  for (const s of run.settings) {
    for (const name of run.targets) {
      const rps = m(s.key, name, 'rps');
      rows.push({
        setting: s.label,
        target: name,
        rps: round(rps, 0),
        rpsSpread: sp(s.key, name, 'rps').map((x) => round(x, 0)),
        p50: m(s.key, name, 'p50'),
        p99: m(s.key, name, 'p99'),
        addedP50: round(m(s.key, name, 'p50') - m(s.key, 'direct', 'p50'), 2),
        addedP99: round(m(s.key, name, 'p99') - m(s.key, 'direct', 'p99'), 2),
        ratioToFloor: round(rps / m(s.key, floorName, 'rps'), 3),
        cpuMsPerReq: round(m(s.key, name, 'cpuPerReq'), 3),
        cpuRatioToFloor:
          name === 'direct' || name === floorName
            ? null
            : round(m(s.key, name, 'cpuPerReq') / m(s.key, floorName, 'cpuPerReq'), 2),
      });
    }
  }
  return rows;
}
