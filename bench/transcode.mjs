// Event-stream → SSE transcoding throughput, in a process of its own (no network, nothing else on
// its heap): MB of Bedrock stream input per second. Prints {"mbps": N}.
// Usage: node bench/transcode.mjs [--quick]
import { encodeChunkFrame } from '../dist/translate/event-stream.js';
import { emptySummary, eventStreamToSse } from '../dist/translate/to-sse.js';

const quick = process.argv.includes('--quick');
// 1,000 text deltas of ~500 bytes a frame, arriving in 16 KB network chunks.
const frames = Array.from({ length: 1000 }, (_, i) =>
  encodeChunkFrame(
    JSON.stringify({
      type: 'content_block_delta',
      index: 0,
      delta: { type: 'text_delta', text: `token ${i} `.repeat(20) },
    }),
  ),
);
const bytes = Buffer.concat(frames);
const chunks = [];
for (let i = 0; i < bytes.length; i += 16 * 1024) chunks.push(new Uint8Array(bytes.subarray(i, i + 16 * 1024)));

async function once() {
  async function* source() {
    yield* chunks;
  }
  for await (const _ of eventStreamToSse(source(), emptySummary())) void _;
}

// Warm-up for a second (the JIT settles), then time whole streams for two (steady state, as for time to first byte).
const until = async (ms) => {
  let runs = 0;
  for (const end = performance.now() + ms; performance.now() < end; runs++) await once();
  return runs;
};
await until(quick ? 500 : 1000);
const t0 = performance.now();
const runs = await until(quick ? 1000 : 2000);
console.log(JSON.stringify({ mbps: (bytes.length * runs) / 1e6 / ((performance.now() - t0) / 1000) }));
