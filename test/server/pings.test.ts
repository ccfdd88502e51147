// Issue 26, item 9 (pings): Bedrock sends nothing while the model thinks; Anthropic's gateway protocol
// asks for `event: ping` in silent gaps so that proxies and clients keep the stream. The gateway sends
// one after `limits.pingMs` of silence on the Anthropic-format streams, and nothing else changes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import type { RunningGateway } from '../../src/server/gateway.js';
import { withPings } from '../../src/translate/pings.js';
import { gatewayOn } from '../helpers.js';

describe('pings in silent gaps', () => {
  let emu: RunningEmulator;
  const gateways: RunningGateway[] = [];
  before(async () => {
    // 200 ms between the stream's events: a silence four pings long at 50 ms.
    emu = await startEmulator({ port: 0, faults: 'gap=200ms' });
  });
  after(async () => {
    for (const g of gateways) await g.close();
    await emu.close();
  });
  const gateway = async (pingMs: number) => {
    const g = await gatewayOn(emu.url, { limits: { pingMs } });
    gateways.push(g);
    return g;
  };
  const stream = async (g: RunningGateway, path = '/v1/messages') => {
    const res = await request(`${g.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: path === '/v1/messages' ? 'claude-haiku-4-5' : 'anthropic.claude-haiku-4-5-20251001-v1:0',
        max_tokens: 20,
        stream: true,
        messages: [{ role: 'user', content: 'say something' }],
      }),
    });
    return { status: res.statusCode, text: await res.body.text() };
  };

  it('a stream with silent gaps gets pings between its events, and is otherwise the same', async () => {
    const pinged = await stream(await gateway(50));
    assert.equal(pinged.status, 200, pinged.text);
    assert.match(pinged.text, /event: ping\ndata: \{"type": "ping"\}\n\n/);
    const quiet = await stream(await gateway(0));
    assert.doesNotMatch(quiet.text, /event: ping/);
    const strip = (t: string) => t.replace(/event: ping\ndata: \{"type": "ping"\}\n\n/g, '');
    const events = (t: string) => [...strip(t).matchAll(/^event: (\w+)/gm)].map((m) => m[1]);
    assert.deepEqual(events(pinged.text), events(quiet.text), 'the same events besides the pings');
    assert.match(pinged.text, /event: message_stop/);
  });

  it('a source that ends, or fails, ends the pinging stream the same way (no timer left behind)', async () => {
    async function* slow() {
      yield new TextEncoder().encode('a');
      await new Promise((r) => setTimeout(r, 60));
      yield new TextEncoder().encode('b');
    }
    const out: string[] = [];
    for await (const chunk of withPings(slow(), 20)) out.push(new TextDecoder().decode(chunk));
    assert.equal(out[0], 'a');
    assert.equal(out.at(-1), 'b');
    assert.ok(out.slice(1, -1).every((c) => c.startsWith('event: ping')) && out.length >= 3, out.join('|'));
    async function* broken() {
      yield new TextEncoder().encode('a');
      throw new Error('upstream died');
    }
    await assert.rejects(async () => {
      for await (const _ of withPings(broken(), 20)) void _;
    }, /upstream died/);
  });
});

describe('pings on a driven clock', () => {
  it('a 15-second silence at the default 10 s gets one ping, at 10 s, and the event after it', async () => {
    // A clock the test moves: one timer, restarted at each chunk, as node's is.
    let now = 0;
    let due = Infinity;
    let fire = () => {};
    const timer = (f: () => void, ms: number) => {
      fire = f;
      due = now + ms;
      return { refresh: () => void (due = now + ms), clear: () => void (due = Infinity) };
    };
    const advance = async (ms: number) => {
      const end = now + ms;
      while (due <= end) {
        now = due;
        due = Infinity;
        fire();
        await new Promise((r) => setImmediate(r));
      }
      now = end;
    };
    let release = () => {};
    const gap = new Promise<void>((r) => (release = r));
    async function* source() {
      yield new TextEncoder().encode('event: message_start\n\n');
      await gap; // the model thinks: Bedrock sends nothing
      yield new TextEncoder().encode('event: content_block_start\n\n');
    }
    const seen: Array<[number, string]> = [];
    const done = (async () => {
      for await (const chunk of withPings(source(), 10_000, timer))
        seen.push([now, new TextDecoder().decode(chunk).split('\n')[0]!]);
    })();
    await new Promise((r) => setImmediate(r));
    await advance(9_999);
    assert.deepEqual(seen, [[0, 'event: message_start']]);
    await advance(5_001); // 15 s of silence
    release();
    await done;
    assert.deepEqual(seen, [
      [0, 'event: message_start'],
      [10_000, 'event: ping'],
      [15_000, 'event: content_block_start'],
    ]);
  });
});
