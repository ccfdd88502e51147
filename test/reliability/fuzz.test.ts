/**
 * HTTP fuzz: 10,000+ malformed requests against the gateway (seeded, so a failure replays). Every
 * answer is a 4xx in the Anthropic shape (the Bedrock front: Bedrock's shape), no 5xx, no crash,
 * memory stable.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { Pool } from 'undici';
import { createCredentialCache } from '../../src/aws/credentials.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { seededRandom } from '../../src/emulator/faults.js';
import { startGateway, type RunningGateway } from '../../src/server/gateway.js';
import { CREDS } from '../helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let emu: RunningEmulator;
let gw: RunningGateway;
before(async () => {
  emu = await startEmulator({ port: 0 });
  gw = await startGateway({
    port: 0,
    region: 'us-west-2',
    auth: { kind: 'sigv4', credentials: createCredentialCache(CREDS) },
    endpoint: emu.url,
    limits: { bodyBytes: 64 * 1024 },
    logger: pino({ level: 'silent' }),
  });
});
after(async () => {
  await gw.close(100);
  await emu.close();
});

interface Case {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer | string | undefined;
  front: 'anthropic' | 'bedrock';
}

function generator(seed: number) {
  const rnd = seededRandom(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const junkString = () => Array.from({ length: int(20) }, () => String.fromCharCode(int(0x2fff))).join('');
  const badModels = [
    '../../etc/passwd',
    'a/b',
    'claude;rm -rf',
    '%2F..%2F',
    'claude\u0000opus',
    'claude\nopus',
    'us.anthropic.claude-nope-v1',
    '',
    ' ',
    'http://evil.example/x',
    'arn:aws:bedrock:us-west-2:1:foundation-model/anthropic.claude-opus-4-6-v1',
    'anthropic.claude-opus-4-6-v1\u202e',
    '..',
    ';',
    '%00',
  ];
  const msgs = [{ role: 'user', content: 'hi' }];
  const nest = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
  const bodies: Array<() => unknown> = [
    () => ({ model: int(1000), max_tokens: 10, messages: msgs }),
    () => ({ model: [], max_tokens: 10, messages: msgs }),
    () => ({ model: null, max_tokens: 10, messages: msgs }),
    () => ({ model: pick(badModels), max_tokens: 10, messages: msgs }),
    () => ({ model: 'claude-opus-4-6', max_tokens: pick([0, -1, -1e9, 1.5, '10', null, [], {}]), messages: msgs }),
    () => ({
      model: 'claude-opus-4-6',
      max_tokens: 10,
      messages: pick([
        'hi',
        3,
        {},
        null,
        [],
        [null],
        ['x'],
        [{ role: 'bot', content: 'x' }],
        [{ role: 'user' }],
        [{ role: 'user', content: 5 }],
      ]),
    }),
    () => ({ model: 'claude-opus-4-6', messages: msgs, stream: pick([true, false]) }),
    () => ({
      model: 'claude-opus-4-6',
      max_tokens: 10,
      messages: msgs,
      temperature: 0.1,
      top_p: 0.2,
      anthropic_beta: pick(['x', [1], {}, 5]),
    }),
    () => ({ model: 'claude-opus-4-6', max_tokens: 10, messages: msgs, betas: pick([[1], 'x', {}]) }),
    () => ({
      model: 'claude-opus-4-6',
      max_tokens: 10,
      messages: [{ role: 'user', content: 'x'.repeat(10) }],
      tools: pick(['x', 5, {}, null]),
    }),
    () => ({
      model: 'claude-opus-4-6',
      max_tokens: 10,
      messages: msgs,
      temperature: pick(['hot', -1, 7, null]),
      system: pick([5, {}, true]),
    }),
    () => ({ model: junkString(), max_tokens: int(100), messages: junkString() }),
    () => pick([[], 'string', 42, null, true]),
  ];
  return (): Case => {
    const kind = int(12);
    // count_tokens takes bodies without max_tokens, so the malformed bodies go to /v1/messages.
    const anthropic = (body: Buffer | string | undefined, headers: Record<string, string> = {}): Case => ({
      method: 'POST',
      path: pick(['/v1/messages', '/v1/messages?beta=true']),
      headers: { 'content-type': 'application/json', ...headers },
      body,
      front: 'anthropic',
    });
    switch (kind) {
      case 0: {
        const text = JSON.stringify(pick(bodies)());
        return anthropic(text.slice(0, int(text.length))); // truncated JSON
      }
      case 1:
        return anthropic(Buffer.from(Array.from({ length: 1 + int(200) }, () => int(256)))); // random bytes
      case 2:
        return anthropic(
          `{"model":"claude-opus-4-6","max_tokens":10,"messages":[{"role":"user","content":${nest(129 + int(5000))}}]}`,
        ); // deep nesting
      case 3:
        return anthropic(
          Buffer.concat([
            Buffer.from('{"model":"claude-opus-4-6","max_tokens":10,"messages":[{"role":"user","content":"'),
            Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0xed, 0xa0, 0x80]),
            Buffer.from('"}]}'),
          ]),
        ); // invalid UTF-8
      case 4:
        return anthropic(
          '{"model":"claude-opus-4-6","max_tokens":10,"messages":[{"role":"user","content":"' +
            'x'.repeat(70 * 1024 + int(1000)) +
            '"}]}',
        ); // over the body limit
      case 5:
        return {
          method: pick(['PUT', 'DELETE', 'PATCH', 'GET']),
          path: pick([
            '/v1/messages',
            '/v1/nope',
            '/v1/files',
            '/v1/messages/batches/x',
            '/model',
            '/../../etc/passwd',
            '/v1/models/%2F..%2F',
          ]),
          headers: {},
          body: undefined,
          front: 'anthropic',
        };
      case 6:
        // (A valid model ID with a fixable body is repaired by the drop policy, so only bad IDs here.)
        return {
          method: 'POST',
          path: `/model/${pick(['..%2F..%2Fhealthz', '%ZZ', encodeURIComponent(pick(badModels.filter((m) => !m.startsWith('arn:')))), 'claude-sonet', 'anthropic.claude-opus-4-6'])}/${pick(['invoke', 'invoke-with-response-stream', 'count-tokens', 'explode'])}`,
          headers: {},
          body: JSON.stringify(pick(bodies)()),
          front: 'bedrock',
        };
      case 7:
        return {
          method: 'POST',
          path: `/model/${encodeURIComponent('us.anthropic.claude-sonnet-4-5-20250929-v1:0')}/invoke`,
          headers: {},
          body: pick([
            '{',
            '[]',
            '{"max_tokens":1}',
            JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: -5, messages: msgs }),
          ]),
          front: 'bedrock',
        };
      default:
        return anthropic(
          JSON.stringify(pick(bodies)()),
          int(3) === 0 ? { 'anthropic-beta': junkString().replace(/[^\x20-\x7e]/g, 'x') } : {},
        );
    }
  };
}

async function hugeHeader(): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(gw.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(
        `POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-big: ${'a'.repeat(40_000)}\r\ncontent-length: 2\r\n\r\n{}`,
      );
    });
    let data = '';
    socket.on('data', (d) => (data += d));
    socket.on('end', () =>
      resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(data)?.[1]), body: data.split('\r\n\r\n')[1] ?? '' }),
    );
    socket.on('error', reject);
  });
}

describe('HTTP fuzz against the gateway', () => {
  it('answers 10,000 malformed requests with a 4xx in the right shape; no 5xx, no crash, memory stable', async () => {
    const pool = new Pool(gw.url, { connections: 16, pipelining: 1 });
    const next = generator(20261124);
    const TOTAL = 10_000;
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    let sent = 0;
    async function worker() {
      while (sent < TOTAL) {
        sent++;
        const c = next();
        try {
          const res = await pool.request({
            method: c.method as 'POST',
            path: c.path,
            headers: c.headers,
            body: c.body ?? null,
          });
          const text = await res.body.text();
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
          let ok = res.statusCode >= 400 && res.statusCode < 500;
          if (ok) {
            const parsed = JSON.parse(text) as {
              type?: string;
              error?: { type?: string; message?: string };
              message?: string;
            };
            ok =
              c.front === 'anthropic'
                ? parsed.type === 'error' &&
                  typeof parsed.error?.type === 'string' &&
                  typeof parsed.error?.message === 'string'
                : typeof parsed.message === 'string' || parsed.type === 'error';
          }
          if (!ok && failures.length < 5)
            failures.push(
              `${c.method} ${c.path} ${String(c.body).slice(0, 120)} -> ${res.statusCode} ${text.slice(0, 200)}`,
            );
        } catch (err) {
          if (failures.length < 5) failures.push(`${c.method} ${c.path} -> ${(err as Error).message}`);
        }
      }
    }
    await Promise.all(Array.from({ length: 16 }, worker));
    const big = await hugeHeader();
    assert.equal(big.status, 431);
    assert.equal((JSON.parse(big.body) as { type: string }).type, 'error');
    gc();
    const growthMb = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
    await pool.close();
    assert.deepEqual(failures, [], `statuses: ${JSON.stringify([...statuses])}`);
    assert.ok(![...statuses.keys()].some((s) => s >= 500), JSON.stringify([...statuses]));
    assert.ok(growthMb < 40, `heap grew ${growthMb.toFixed(1)} MB`);
    const health = await fetch(`${gw.url}/healthz`);
    assert.equal(health.status, 200, 'still up');
    console.log(
      `fuzz: ${TOTAL} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}, heap growth ${growthMb.toFixed(1)} MB`,
    );
  });
});
