// How much slower code runs after the process has been idle for a moment, on this machine: one SigV4
// signature (the gateway's signer) timed back to back, then after idle gaps of 1, 3 and 10 ms. A
// request at concurrency 1 or the first byte of a stream pays the idle figure, not the hot one, and
// the floor (which runs far less JavaScript per request) pays it on far less code.
// Prints {"hotUs": N, "idle1msUs": N, "idle3msUs": N, "idle10msUs": N} (medians of 300).
// Usage: node bench/cold.mjs
import { createBedrockSigner } from '../dist/aws/signer.js';
import { createCredentialCache } from '../dist/aws/credentials.js';

const credentials = createCredentialCache({
  accessKeyId: 'AKIAEMULATOR00000000',
  secretAccessKey: 'bedrock-claude-emulator-secret',
});
const sign = createBedrockSigner({ region: 'us-west-2', auth: { kind: 'sigv4', credentials } });
const body = Buffer.from(
  JSON.stringify({
    anthropic_version: 'bedrock-2023-05-31',
    max_tokens: 32,
    messages: [{ role: 'user', content: 'ping' }],
  }),
);
const headers = { 'content-type': 'application/json', accept: 'application/json' };
const once = () =>
  sign({
    method: 'POST',
    url: new URL('http://127.0.0.1:4010/model/global.anthropic.claude-haiku-4-5-20251001-v1%3A0/invoke'),
    headers,
    body,
  });

for (let i = 0; i < 5000; i++) await once();
const out = {};
for (const gap of [0, 1, 3, 10]) {
  const times = [];
  for (let i = 0; i < 300; i++) {
    await new Promise((r) => (gap ? setTimeout(r, gap) : setImmediate(r)));
    const t0 = performance.now();
    await once();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  out[gap ? `idle${gap}msUs` : 'hotUs'] = Math.round(times[150] * 1000);
}
console.log(JSON.stringify(out));
