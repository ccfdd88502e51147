// Issue 25, item 5: connections are bounded. Idle sockets, slow headers, bodies that never end and
// silent h2c sessions are closed by timeouts that hold with the dual-protocol binding; past the caps
// on open connections (in all and per address) the oldest idle one makes room or the new one is
// refused before any work, and probes from elsewhere still answer; h2 streams that break their
// framing are released at once. Each case waits for events (a close, an answer), never a sleep.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tcp, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import type { GatewayOptions, RunningGateway } from '../../src/server/gateway.js';
import { gatewayOn, tempHome } from '../helpers.js';

let emu: RunningEmulator;
const open: RunningGateway[] = [];
const sockets: Socket[] = [];

before(async () => {
  emu = await startEmulator({ port: 0 });
});
after(async () => {
  for (const s of sockets) s.destroy();
  for (const g of open) await g.close(0);
  await emu.close();
});

async function gateway(limits: NonNullable<GatewayOptions['limits']>): Promise<RunningGateway> {
  const g = await gatewayOn(emu.url, { limits });
  open.push(g);
  return g;
}

/** A raw connection from `from` (any 127/8 address reaches a server on 127.0.0.1), with what it received. */
async function raw(g: RunningGateway, from = '127.0.0.1') {
  const socket = tcp({ port: g.port, host: '127.0.0.1', localAddress: from });
  sockets.push(socket);
  const got: Buffer[] = [];
  socket.on('data', (d: Buffer) => got.push(d));
  socket.on('error', () => undefined);
  const closed = once(socket, 'close').then(() => Buffer.concat(got));
  await once(socket, 'connect');
  return { socket, closed, received: () => Buffer.concat(got) };
}

/** Waits, event-loop turn by turn (bounded), until `cond` holds. */
async function until(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await cond()) return;
    await delay(5);
  }
  assert.fail(`never: ${what}`);
}

const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}
/** HPACK literals without indexing or Huffman: enough for short test headers. */
const headerBlock = (headers: Array<[string, string]>) =>
  Buffer.concat(
    headers.map(([n, v]) =>
      Buffer.concat([Buffer.from([0, n.length]), Buffer.from(n), Buffer.from([v.length]), Buffer.from(v)]),
    ),
  );
const postHeaders = (length: number): Array<[string, string]> => [
  [':method', 'POST'],
  [':path', '/v1/messages'],
  [':scheme', 'http'],
  [':authority', '127.0.0.1'],
  ['content-type', 'application/json'],
  ['content-length', String(length)],
];
/** The frame types in a received HTTP/2 byte stream (after the server's preface-less start). */
function frameTypes(bytes: Buffer): number[] {
  const types: number[] = [];
  for (let at = 0; at + 9 <= bytes.length; at += 9 + bytes.readUIntBE(at, 3)) types.push(bytes[at + 3]!);
  return types;
}

describe('timeouts hold with the dual-protocol binding', { timeout: 20_000 }, () => {
  let g: RunningGateway;
  before(async () => {
    g = await gateway({ headersTimeoutMs: 300, keepAliveMs: 300, bodyIdleMs: 300 });
  });

  it('a connection that never sends a byte is closed', async () => {
    const c = await raw(g);
    assert.equal((await c.closed).length, 0);
  });

  it('headers sent a byte at a time are cut at the header timeout', async () => {
    const c = await raw(g);
    c.socket.write('POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const drip = setInterval(() => c.socket.writable && c.socket.write('x'), 50);
    await c.closed;
    clearInterval(drip);
  });

  it('a keep-alive connection is closed once idle', async () => {
    const c = await raw(g);
    c.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const all = (await c.closed).toString('latin1');
    assert.match(all, /^HTTP\/1\.1 200 /);
  });

  it('a body that stops arriving is a 408 in the Anthropic shape, and the connection closes', async () => {
    const c = await raw(g);
    c.socket.write(
      'POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"mo',
    );
    const text = (await c.closed).toString('latin1');
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.equal(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)).error.type, 'timeout_error');
  });

  it('a silent h2c session is closed (GOAWAY), and so is one whose stream body stops (408 first)', async () => {
    const silent = await raw(g);
    silent.socket.write(PREFACE);
    silent.socket.write(frame(4, 0, 0, Buffer.alloc(0)));
    assert.ok(frameTypes(await silent.closed).includes(7), 'a GOAWAY before the close');

    const stalled = await raw(g);
    stalled.socket.write(PREFACE);
    stalled.socket.write(frame(4, 0, 0, Buffer.alloc(0)));
    stalled.socket.write(frame(1, 4, 1, headerBlock(postHeaders(100))));
    stalled.socket.write(frame(0, 0, 1, Buffer.from('{"mo')));
    const types = frameTypes(await stalled.closed);
    assert.ok(types.includes(1) && types.includes(0), `the 408's HEADERS and DATA came: ${types.join(',')}`);
  });
});

describe('caps on open connections', { timeout: 20_000 }, () => {
  let g: RunningGateway;
  before(async () => {
    g = await gateway({ maxConnections: 8, maxConnectionsPerAddress: 4, headersTimeoutMs: 60_000, bodyIdleMs: 60_000 });
  });

  /** A connection with a request in flight: headers sent, the body still to come. */
  async function busy(from: string) {
    const c = await raw(g, from);
    c.socket.write('POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n');
    c.socket.write('content-length: 100\r\n\r\n{');
    return c;
  }
  it('one address past its cap: refused before any work, and other addresses still answer', async () => {
    const held = [];
    for (let i = 0; i < 4; i++) held.push(await busy('127.0.0.1'));
    await until(() => g.inFlight() === 4, 'four requests in flight');
    const fifth = await raw(g, '127.0.0.1');
    assert.equal((await fifth.closed).length, 0, 'closed without an answer');
    assert.equal(await healthzFrom(g, '127.0.0.2'), 200);
    for (const c of held) c.socket.destroy();
    await until(() => g.inFlight() === 0, 'released');
  });

  it('in all past the cap: the oldest idle connection makes room; when all are busy, the new one is refused', async () => {
    const idle = [];
    for (let i = 0; i < 4; i++) idle.push(await raw(g, '127.0.0.3'));
    const held = [];
    for (let i = 0; i < 4; i++) held.push(await busy('127.0.0.4'));
    await until(() => g.inFlight() === 4, 'four requests in flight');
    assert.equal(await healthzFrom(g, '127.0.0.5'), 200, 'room was made');
    await idle[0]!.closed;
    for (let i = 0; i < 3; i++) held.push(await busy('127.0.0.5'));
    await until(() => g.inFlight() === 7, 'seven in flight');
    // Seven busy and three idle (.3's last three) make ten; the caps say eight: every new one evicts an idle one.
    await healthzFrom(g, '127.0.0.6');
    held.push(await busy('127.0.0.6'));
    await until(() => g.inFlight() === 8, 'eight in flight');
    const refused = await raw(g, '127.0.0.7');
    assert.equal((await refused.closed).length, 0, 'refused: every connection is busy');
    for (const c of held) c.socket.destroy();
    await until(() => g.inFlight() === 0, 'released');
    const metrics = await (await request(`${g.url}/metrics`)).body.text();
    assert.match(metrics, /bedrock_claude_connections_closed_total\{reason="refused_total"\} [1-9]/);
    assert.match(metrics, /bedrock_claude_connections_closed_total\{reason="refused_address"\} [1-9]/);
    assert.match(metrics, /bedrock_claude_connections_closed_total\{reason="evicted"\} [1-9]/);
  });
});

/** GET /healthz over a fresh connection from `from`. */
async function healthzFrom(g: RunningGateway, from: string): Promise<number> {
  const c = await raw(g, from);
  c.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nconnection: close\r\n\r\n');
  const text = (await c.closed).toString('latin1');
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
}

describe('h2 streams that break their framing', { timeout: 20_000 }, () => {
  it('DATA past content-length: each stream reset (or the session closed) at once, nothing left in flight', async () => {
    const g = await gateway({});
    const c = await raw(g);
    c.socket.write(PREFACE);
    c.socket.write(frame(4, 0, 0, Buffer.alloc(0)));
    const n = 300;
    for (let i = 0; i < n; i++) c.socket.write(frame(1, 4, 1 + 2 * i, headerBlock(postHeaders(10))));
    await until(() => g.inFlight() > 0, 'the streams reached the app');
    for (let i = 0; i < n; i++) c.socket.write(frame(0, 0, 1 + 2 * i, Buffer.alloc(20, 'a')));
    // Each stream is reset (RST_STREAM), or, past node's limit of streams refused in one session (Node 22 on), the
    // session is closed (GOAWAY): either way nothing is left in flight.
    let closed = false;
    c.socket.once('close', () => (closed = true));
    await until(() => {
      const types = frameTypes(c.received());
      return closed || types.includes(7) || types.filter((t) => t === 3).length >= n;
    }, 'every stream reset, or the session closed');
    await until(() => g.inFlight() === 0, 'nothing in flight');
  });
});

describe('connection exhaustion under a low open-file limit', { timeout: 60_000 }, () => {
  it('with ulimit -n 256 and 300 idle connections, /healthz and a keyed request still answer', async () => {
    const home = tempHome();
    const dataDir = mkdtempSync(join(tmpdir(), 'bc-conn-'));
    const env = { PATH: process.env['PATH'] ?? '', HOME: home, AWS_EC2_METADATA_DISABLED: 'true' };
    const created = spawn(
      process.execPath,
      ['dist/cli/main.js', 'keys', 'create', 'k', '--data-dir', dataDir, '--json'],
      {
        env,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let json = '';
    for await (const chunk of created.stdout!) json += chunk;
    const key = (JSON.parse(json) as { key: string }).key;
    const child = spawn(
      'bash',
      [
        '-c',
        `ulimit -n 256 && exec "${process.execPath}" dist/cli/main.js serve --emulator --port 0 --data-dir "${dataDir}"`,
      ],
      { env, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      let out = '';
      let url = '';
      for await (const chunk of child.stdout!) {
        out += chunk;
        const m = /listening on (http:\/\/[0-9.:]+)/.exec(out);
        if (m) {
          url = m[1]!;
          break;
        }
      }
      assert.ok(url, out);
      const port = Number(new URL(url).port);
      const idle: Socket[] = [];
      for (let i = 0; i < 300; i++) {
        const s = tcp({ port, host: '127.0.0.1' });
        s.on('error', () => undefined);
        idle.push(s);
        sockets.push(s);
        await once(s, 'connect');
      }
      const health = await request(`${url}/healthz`);
      assert.equal(health.statusCode, 200, await health.body.text());
      const res = await request(`${url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(res.statusCode, 200, await res.body.text());
      for (const s of idle) s.destroy();
    } finally {
      child.kill('SIGKILL');
    }
  });
});
