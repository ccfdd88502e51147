// node bench/instructions.mjs DIST N: N non-streamed requests through a gateway built in DIST,
// called in process (app.request), to a fixed local upstream; meant to run under
// `valgrind --tool=callgrind`, which counts instructions: repeatable where wall-clock benchmarks on
// a loaded 2-core machine are not. npm run bench:instructions -- --base REF runs it for REF and this
// checkout (N and 0 requests each) and prints the instructions per request of both.
import { createServer } from 'node:http';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dist, n] = [resolve(process.argv[2] ?? 'dist'), Number(process.argv[3] ?? 1000)];
const load = (path) => import(pathToFileURL(`${dist}/${path}`).href);
const { startGateway } = await load('server/gateway.js');
const { createCredentialCache } = await load('aws/credentials.js');

const answer = JSON.stringify({
  id: 'msg_bench',
  type: 'message',
  role: 'assistant',
  model: 'claude-haiku-4-5-20251001',
  content: [{ type: 'text', text: 'Hello from a fixed upstream.' }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 12, output_tokens: 8 },
});
const upstream = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(answer));
});
await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
const endpoint = `http://127.0.0.1:${upstream.address().port}`;
const credentials = createCredentialCache({ accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench-secret' });
const silent = {
  level: 'silent',
  info() {},
  warn() {},
  error() {},
  debug() {},
  trace() {},
  fatal() {},
  child: () => silent,
};
const gw = await startGateway({
  port: 0,
  region: 'us-west-2',
  auth: { kind: 'sigv4', credentials },
  endpoint,
  logger: silent,
  retry: { max: 0 },
});
const body = JSON.stringify({
  model: 'claude-haiku-4-5',
  max_tokens: 64,
  messages: [{ role: 'user', content: 'Hello' }],
});
for (let i = 0; i < n; i++) {
  const res = await gw.app.request('/v1/messages', { headers: { 'content-type': 'application/json' }, body });
  if (res.status !== 200) throw new Error(`status ${res.status}: ${res.text}`);
}
await gw.close(0);
upstream.close();
