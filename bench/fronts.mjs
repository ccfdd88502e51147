// npm run bench:fronts [-- --quick]: every front of the gateway beside the floor and beside
// /v1/messages' own, in one run: throughput at concurrency 64, added p50, and CPU per request, for
// answers and for streams. The goal (the fronts issue): each front's CPU per request within 1.2x of
// /v1/messages'. Writes bench/results/fronts.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { load } from './gateway.mjs';
import {
  EMULATOR_ENV,
  median,
  MODEL,
  MODEL_ID,
  round,
  signedInvoke,
  spread,
  startProcess,
  stopProcess,
} from './lib.mjs';

const quick = process.argv.includes('--quick');
const duration = quick ? 3 : 6;
const rounds = quick ? 1 : 3;
const connections = 64;
const json = { 'content-type': 'application/json' };
// A small request; streamed, the emulator answers it in ~25 events (`--delta-chars 16`).
const PROMPT = 'a gateway speaks every dialect of its clients; '.repeat(8);
const messagesBody = { max_tokens: 200, messages: [{ role: 'user', content: PROMPT }] };
const seg = encodeURIComponent(MODEL_ID);

/** The same call in each front's own shape. */
function requests(stream, signedFloor) {
  const anthropic = JSON.stringify(Object.assign({ model: MODEL }, messagesBody, stream ? { stream: true } : {}));
  const converse = JSON.stringify({
    messages: [{ role: 'user', content: [{ text: PROMPT }] }],
    inferenceConfig: { maxTokens: 200 },
  });
  const openai = JSON.stringify(
    Object.assign(
      { model: MODEL, max_completion_tokens: 200, messages: [{ role: 'user', content: PROMPT }] },
      stream ? { stream: true, stream_options: { include_usage: true } } : {},
    ),
  );
  const responses = JSON.stringify(
    Object.assign({ model: MODEL, max_output_tokens: 200, input: PROMPT }, stream ? { stream: true } : {}),
  );
  return {
    floor: { method: 'POST', path: signedFloor.path, headers: signedFloor.headers, body: signedFloor.body },
    '/v1/messages': { method: 'POST', path: '/v1/messages', headers: json, body: anthropic },
    InvokeModel: {
      method: 'POST',
      path: `/model/${seg}/${stream ? 'invoke-with-response-stream' : 'invoke'}`,
      headers: json,
      body: JSON.stringify(Object.assign({ anthropic_version: 'bedrock-2023-05-31' }, messagesBody)),
    },
    Converse: {
      method: 'POST',
      path: `/model/${seg}/${stream ? 'converse-stream' : 'converse'}`,
      headers: json,
      body: converse,
    },
    'native Messages': {
      method: 'POST',
      path: '/anthropic/v1/messages',
      headers: Object.assign({ 'anthropic-version': '2023-06-01' }, json),
      body: anthropic,
    },
    'OpenAI chat': { method: 'POST', path: '/v1/chat/completions', headers: json, body: openai },
    'OpenAI Responses': { method: 'POST', path: '/v1/responses', headers: json, body: responses },
  };
}

const emulator = await startProcess(
  'emulator',
  ['dist/cli/main.js', 'emulator', '--port', '0', '--delta-chars', '16'],
  { env: EMULATOR_ENV },
);
const procs = [emulator];
try {
  const floor = await startProcess('floor', ['bench/floor-proxy.mjs', emulator.url], { env: EMULATOR_ENV });
  const ours = await startProcess(
    'ours',
    ['dist/cli/main.js', 'serve', '--no-store', '--port', '0', '--bedrock-endpoint', emulator.url],
    { env: EMULATOR_ENV },
  );
  procs.push(floor, ours);
  const results = {};
  for (const stream of [false, true]) {
    const mode = stream ? 'stream' : 'answer';
    const sign = () =>
      signedInvoke(
        emulator.url,
        MODEL_ID,
        Object.assign({ anthropic_version: 'bedrock-2023-05-31' }, messagesBody),
        stream ? 'invoke-with-response-stream' : 'invoke',
      );
    const names = Object.keys(requests(stream, await sign()));
    const target = (name) =>
      name === 'floor' ? { name, url: floor.url, pid: floor.pid } : { name, url: ours.url, pid: ours.pid };
    // Warm-up, the same for every front.
    for (const name of names) await load(target(name), requests(stream, await sign())[name], 16, quick ? 1 : 3);
    results[mode] = Object.fromEntries(names.map((n) => [n, []]));
    for (let r = 0; r < rounds; r++) {
      for (const name of r % 2 ? [...names].reverse() : names)
        results[mode][name].push(await load(target(name), requests(stream, await sign())[name], connections, duration));
    }
  }

  const rows = [];
  for (const [mode, byFront] of Object.entries(results)) {
    const m = (name, field) => median(byFront[name].map((x) => x[field]));
    for (const name of Object.keys(byFront)) {
      rows.push({
        mode,
        front: name,
        'req/s': round(m(name, 'rps'), 0),
        spread: spread(byFront[name].map((x) => round(x.rps, 0))).join('–'),
        'p50 ms': round(m(name, 'p50'), 2),
        'CPU ms/req': round(m(name, 'cpuPerReq'), 3),
        'CPU x /v1/messages': name === 'floor' ? null : round(m(name, 'cpuPerReq') / m('/v1/messages', 'cpuPerReq'), 2),
        'CPU x floor': name === 'floor' ? null : round(m(name, 'cpuPerReq') / m('floor', 'cpuPerReq'), 2),
      });
    }
  }
  console.table(rows);
  const worst = Math.max(...rows.filter((r) => r['CPU x /v1/messages'] !== null).map((r) => r['CPU x /v1/messages']));
  console.log(
    `goal: each front's CPU per request within 1.2x of /v1/messages' own; worst ${worst}x ${worst <= 1.2 ? '(met)' : '(NOT met)'}`,
  );
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(
    'bench/results/fronts.json',
    JSON.stringify(
      { date: new Date().toISOString(), node: process.version, quick, rounds, duration, connections, rows },
      null,
      2,
    ),
  );
} finally {
  for (const p of procs.reverse()) await stopProcess(p);
}
