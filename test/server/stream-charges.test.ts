// A stream is charged for what it delivered (issue 25, item 1): a client that reads the answer and
// leaves before the final `message_delta`, or an upstream that dies mid-stream, must not make the
// output free. On every front that streams: Anthropic SSE, Bedrock's event stream, ConverseStream
// and chat completions.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { request } from 'undici';
import { createCredentialCache } from '../../src/aws/credentials.js';
import type { UsageRecord } from '../../src/control/usage-record.js';
import { openSqliteControlStore } from '../../src/control/sqlite-store.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { startGateway, type RunningGateway } from '../../src/server/gateway.js';
import { CREDS } from '../helpers.js';

const HAIKU = 'global.anthropic.claude-haiku-4-5-20251001-v1:0';
// The fake model echoes the prompt: 600 characters in deltas of 8, 20 ms apart (about 1.5 s of stream).
const PROMPT = 'The quick brown fox jumps over the lazy dog. '.repeat(14);

let emu: RunningEmulator;
let gw: RunningGateway;
let dataDir: string;
const records: UsageRecord[] = [];
let waiting: Array<{ path: string; resolve: (u: UsageRecord) => void }> = [];

/** The usage record of the next request to `path` that finishes: awaited, not slept for. */
function nextRecord(path: string): Promise<UsageRecord> {
  return new Promise((resolve) => waiting.push({ path, resolve }));
}

before(async () => {
  emu = await startEmulator({ port: 0, deltaChars: 8, faults: 'gap=20ms' });
  dataDir = mkdtempSync(join(tmpdir(), 'bc-stream-charges-'));
  gw = await startGateway({
    port: 0,
    region: 'us-west-2',
    auth: { kind: 'sigv4', credentials: createCredentialCache(CREDS) },
    endpoint: emu.url,
    dataDir,
    logger: pino({ level: 'silent' }),
    sinks: [
      {
        record(u) {
          records.push(u);
          const w = waiting.find((x) => u.path.startsWith(x.path));
          if (w) {
            waiting = waiting.filter((x) => x !== w);
            w.resolve(u);
          }
        },
      },
    ],
  });
});

after(async () => {
  await gw.close();
  await emu.close();
});

const FRONTS = [
  {
    front: 'anthropic',
    path: '/v1/messages',
    body: { model: 'claude-haiku-4-5', max_tokens: 400, stream: true, messages: [{ role: 'user', content: PROMPT }] },
  },
  {
    front: 'bedrock',
    path: `/model/${encodeURIComponent(HAIKU)}/invoke-with-response-stream`,
    body: { anthropic_version: 'bedrock-2023-05-31', max_tokens: 400, messages: [{ role: 'user', content: PROMPT }] },
  },
  {
    front: 'converse',
    path: `/model/${encodeURIComponent(HAIKU)}/converse-stream`,
    body: { messages: [{ role: 'user', content: [{ text: PROMPT }] }], inferenceConfig: { maxTokens: 400 } },
  },
  {
    front: 'openai',
    path: '/v1/chat/completions',
    body: { model: 'claude-haiku-4-5', max_tokens: 400, stream: true, messages: [{ role: 'user', content: PROMPT }] },
  },
];

/** Reads a stream until `chunks` pieces have arrived, then leaves (the socket is destroyed). */
async function readThenLeave(path: string, body: unknown, chunks: number): Promise<number> {
  const res = await request(`${gw.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.statusCode, 200);
  let read = 0;
  let bytes = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (++read >= chunks) break; // leaving the loop destroys the body: the client is gone
  }
  return bytes;
}

describe('a stream is charged for what it delivered', () => {
  for (const { front, path, body } of FRONTS) {
    it(`${front}: the client reads part of the answer and leaves: output estimated, not 1 token`, async () => {
      const finished = nextRecord(path.split('?')[0]!);
      await readThenLeave(path, body, 12);
      const u = await finished;
      assert.equal(u.error, 'client_closed');
      assert.ok((u.outputTokens ?? 0) > 5, `${front}: ${u.outputTokens} output tokens charged for a delivered answer`);
      assert.equal(u.usageEstimated, true, 'marked as estimated');
      // The cost holds the output: more than the input alone ($1 per million input tokens for Haiku 4.5).
      assert.ok((u.costUsd ?? 0) > ((u.inputTokens ?? 0) * 1) / 1e6, `${front}: $${u.costUsd}`);
    });
  }

  it('the upstream dies mid-stream: the delivered half is charged, estimated', async () => {
    emu.setFaults('gap=1ms,midstream=1');
    try {
      const finished = nextRecord('/v1/messages');
      const res = await request(`${gw.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(FRONTS[0]!.body),
      });
      const text = await res.body.text();
      assert.match(text, /event: error/);
      const u = await finished;
      assert.ok((u.outputTokens ?? 0) > 5, `${u.outputTokens} output tokens`);
      assert.equal(u.usageEstimated, true);
    } finally {
      emu.setFaults('gap=20ms');
    }
  });

  it('a stream read to its end is charged what the model reported, not an estimate; the ledger says which', async () => {
    const finished = nextRecord('/v1/messages');
    const res = await request(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(FRONTS[0]!.body),
    });
    const text = await res.body.text();
    const reported = Number(/"output_tokens":(\d+)\}\}\n\nevent: message_stop/.exec(text)?.[1]);
    const u = await finished;
    assert.equal(u.outputTokens, reported);
    assert.equal(u.usageEstimated, false);
    await gw.flushLedger();
    const store = await openSqliteControlStore(dataDir);
    try {
      const rows = await store.requests({ since: 0, until: Date.now() + 1000, limit: 100 });
      const byId = new Map(rows.map((r) => [r.requestId, r]));
      assert.equal(byId.get(u.requestId)?.usageEstimated, false);
      const cut = records.filter((r) => r.usageEstimated);
      assert.ok(cut.length >= 5);
      for (const r of cut) {
        assert.equal(byId.get(r.requestId)?.usageEstimated, true, 'the estimated rows say so in the ledger');
        assert.equal(byId.get(r.requestId)?.outputTokens, r.outputTokens);
      }
    } finally {
      await store.close();
    }
  });
});
