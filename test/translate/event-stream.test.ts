import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BedrockClaudeError } from '../../src/errors.js';
import {
  decodeEventStream,
  encodeChunkFrame,
  encodeErrorFrame,
  encodeEventFrame,
  encodeExceptionFrame,
  encodeFrame,
  frameHeader,
  paddingFor,
} from '../../src/translate/event-stream.js';
import { parseSse } from '../../src/translate/parse-sse.js';
import { emptySummary, eventStreamToSse, sseError } from '../../src/translate/to-sse.js';

async function* from(...chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const c of chunks) yield c;
}
const text = async (it: AsyncIterable<Uint8Array>) => {
  let s = '';
  for await (const c of it) s += Buffer.from(c).toString();
  return s;
};
const EVENTS = [
  {
    type: 'message_start',
    message: {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      content: [],
      model: 'm',
      stop_reason: null,
      usage: { input_tokens: 10, output_tokens: 1 },
    },
  },
  { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hel' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'lo\n' } },
  { type: 'content_block_stop', index: 0 },
  { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 2 } },
  {
    type: 'message_stop',
    'amazon-bedrock-invocationMetrics': {
      inputTokenCount: 10,
      outputTokenCount: 2,
      invocationLatency: 50,
      firstByteLatency: 20,
    },
  },
];
const frames = () => EVENTS.map((e) => encodeChunkFrame(JSON.stringify(e)));

describe('event-stream → SSE', () => {
  it('transcodes chunk frames into Anthropic SSE, taking the metrics off message_stop', async () => {
    const summary = emptySummary();
    const sse = await text(eventStreamToSse(from(...frames()), summary));
    const events = [];
    for await (const e of parseSse(from(Buffer.from(sse)))) events.push(e);
    assert.deepEqual(events, [...EVENTS.slice(0, -1), { type: 'message_stop' }]);
    assert.match(sse, /^event: message_start\ndata: \{/);
    assert.ok(!sse.includes('amazon-bedrock-invocationMetrics'));
    assert.deepEqual(summary.metrics, {
      inputTokenCount: 10,
      outputTokenCount: 2,
      invocationLatency: 50,
      firstByteLatency: 20,
    });
    assert.deepEqual(summary.usage, { input_tokens: 10, output_tokens: 2 });
    assert.equal(summary.stopReason, 'end_turn');
    assert.equal(summary.events, 7);
  });
  it('accepts frames split at any byte, and padding of any length', async () => {
    const all = Buffer.concat(frames());
    const pieces: Uint8Array[] = [];
    for (let i = 0; i < all.length; i += 7) pieces.push(all.subarray(i, i + 7));
    const summary = emptySummary();
    const sse = await text(eventStreamToSse(from(...pieces), summary));
    assert.equal(summary.events, 7);
    assert.equal(sse.split('event: ').length - 1, 7);
    assert.notEqual(paddingFor(3).length, paddingFor(4).length);
  });
  it("turns an exception frame into an SSE error event that keeps Bedrock's message", async () => {
    const summary = emptySummary();
    const sse = await text(
      eventStreamToSse(
        from(
          frames()[0]!,
          encodeExceptionFrame('throttlingException', 'Too many tokens, please wait before trying again.'),
        ),
        summary,
      ),
    );
    assert.match(
      sse,
      /event: error\ndata: \{"type":"error","error":\{"type":"rate_limit_error","message":"Too many tokens, please wait before trying again\."\}\}/,
    );
    assert.equal(summary.error?.type, 'rate_limit_error');
    const other = await text(eventStreamToSse(from(encodeExceptionFrame('modelStreamErrorException', 'boom'))));
    assert.match(other, /"api_error","message":"boom"/);
    const garbage = await text(
      eventStreamToSse(
        from(
          encodeFrame(
            { ':message-type': 'exception', ':exception-type': 'serviceUnavailableException' },
            Buffer.from('not json'),
          ),
        ),
      ),
    );
    assert.match(garbage, /overloaded_error.*Bedrock sent serviceUnavailableException/);
  });
  it('turns an unmodelled error frame into an SSE error', async () => {
    const sse = await text(eventStreamToSse(from(encodeErrorFrame('InternalFailure', 'it broke'))));
    assert.match(sse, /"type":"api_error","message":"it broke"/);
  });
  it('reports a corrupt frame (CRC mismatch) as a clear error event', async () => {
    const bad = Buffer.from(frames()[2]!);
    bad[bad.length - 10]! ^= 0xff;
    const summary = emptySummary();
    const sse = await text(eventStreamToSse(from(frames()[0]!, bad), summary));
    assert.match(sse, /event: message_start/);
    assert.match(sse, /event: error\ndata: .*Corrupt event-stream frame from Bedrock: .*checksum/i);
    assert.equal(summary.error?.type, 'api_error');
  });
  it('reports a corrupt prelude, an impossible length and a truncated stream', async () => {
    const prelude = Buffer.from(frames()[1]!);
    prelude[9]! ^= 0x01;
    assert.match(await text(eventStreamToSse(from(prelude))), /Corrupt event-stream frame/);
    const huge = Buffer.alloc(16);
    huge.writeUInt32BE(0xffffffff, 0);
    assert.match(await text(eventStreamToSse(from(huge))), /impossible/);
    assert.match(await text(eventStreamToSse(from(frames()[0]!.subarray(0, 30)))), /ended inside a frame/);
  });
  it('skips non-chunk events and chunks without bytes, rejects chunks that are not JSON', async () => {
    const other = encodeEventFrame('somethingElse', { a: 1 });
    const noBytes = encodeFrame({ ':message-type': 'event', ':event-type': 'chunk' }, Buffer.from('{"p":"x"}'));
    assert.equal(await text(eventStreamToSse(from(other, noBytes))), '');
    const notJson = encodeFrame({ ':message-type': 'event', ':event-type': 'chunk' }, Buffer.from('nope'));
    assert.match(await text(eventStreamToSse(from(notJson))), /payload is not JSON/);
    const badBytes = encodeFrame(
      { ':message-type': 'event', ':event-type': 'chunk' },
      Buffer.from(`{"bytes":"${Buffer.from('{oops').toString('base64')}"}`),
    );
    assert.match(await text(eventStreamToSse(from(badBytes))), /bytes are not JSON/);
    const typeless = encodeChunkFrame('{"hello":1}');
    assert.equal(await text(eventStreamToSse(from(typeless))), '');
  });
  it('reads the event type off compact JSON, and parses anything else so each event stays one SSE event', async () => {
    const delta = EVENTS[2]!;
    const compact = JSON.stringify(delta);
    const chunks = [
      compact,
      JSON.stringify(delta, null, 2),
      `{ "type" : "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"} }`,
      '{"type":"","index":0}',
    ];
    const sse = await text(eventStreamToSse(from(...chunks.map((c) => encodeChunkFrame(c)))));
    const blocks = sse.split('\n\n').filter(Boolean);
    assert.equal(blocks.length, 3, sse); // an event with no type has no name to go out under
    // The compact event goes out as Bedrock's bytes; the others are re-serialised onto one data line.
    for (const block of blocks) assert.equal(block, `event: content_block_delta\ndata: ${compact}`);
    // An event type that is not a plain name still gives one well-formed SSE event, its JSON intact.
    // An event read for its usage goes out byte for byte as Bedrock sent it (JSON.stringify would write "msg_1").
    const start =
      '{"type":"message_start","message":{"id":"msg_\\u0031","usage":{"input_tokens":3,"output_tokens":1}}}';
    const summary = emptySummary();
    assert.equal(
      await text(eventStreamToSse(from(encodeChunkFrame(start)), summary)),
      `event: message_start\ndata: ${start}\n\n`,
    );
    assert.deepEqual(summary.usage, { input_tokens: 3, output_tokens: 1 });
    const odd = await text(eventStreamToSse(from(encodeChunkFrame('{"type":"odd\\nname: x","n":1}'))));
    assert.equal(odd, 'event: odd_name__x\ndata: {"type":"odd\\nname: x","n":1}\n\n');
  });
  it('decodes header strings that look alike (same length, first and last byte) and non-ASCII ones', async () => {
    const names = ['chunk', 'cHunk', 'chunk', 'c\u00e9nk', 'cxxxk', 'chunk', '\u00e9v\u00e9nement-\u{1F600}'];
    const decoded = [];
    for await (const f of decodeEventStream(
      from(...names.map((n) => encodeFrame({ ':message-type': 'event', ':event-type': n }, new Uint8Array(0)))),
    ))
      decoded.push(frameHeader(f, ':event-type'));
    assert.deepEqual(decoded, names);
  });
  it('finds the bytes field wherever it is in the chunk payload', async () => {
    const event = Buffer.from(JSON.stringify(EVENTS[2])).toString('base64');
    const first = encodeFrame(
      { ':message-type': 'event', ':event-type': 'chunk' },
      Buffer.from(`{"bytes":"${event}","p":"ab"}`),
    );
    const later = encodeFrame(
      { ':message-type': 'event', ':event-type': 'chunk' },
      Buffer.from(`{"p":"ab","bytes":"${event}"}`),
    );
    const spaced = encodeFrame(
      { ':message-type': 'event', ':event-type': 'chunk' },
      Buffer.from(`{ "bytes" : "${event}" }`),
    );
    const expected = `event: content_block_delta\ndata: ${JSON.stringify(EVENTS[2])}\n\n`;
    assert.equal(await text(eventStreamToSse(from(first, later, spaced))), expected.repeat(3));
  });
  it('round-trips headers through the codec', async () => {
    const decoded = [];
    for await (const f of decodeEventStream(from(encodeEventFrame('messageStart', { role: 'assistant' }))))
      decoded.push(f);
    assert.equal(frameHeader(decoded[0]!, ':event-type'), 'messageStart');
    assert.equal(frameHeader(decoded[0]!, ':nope'), undefined);
    assert.match(Buffer.from(decoded[0]!.body).toString(), /^\{"role":"assistant","p":"[A-Za-z0-9]+"\}$/);
    assert.match(Buffer.from(sseError('api_error', 'x')).toString(), /^event: error\n/);
  });
});

describe('SSE parsing', () => {
  it('an event whose data is not a JSON object is our own 502, not a raw SyntaxError', async () => {
    const bytes = async function* (text: string) {
      yield Buffer.from(text);
    };
    const events = [];
    for await (const e of parseSse(bytes('event: ping\ndata: {"type":"ping"}\n\n'))) events.push(e);
    assert.deepEqual(events, [{ type: 'ping' }]);
    for (const bad of ['data: {oops\n\n', 'data: [1]\n\n', 'data: null\n\n']) {
      await assert.rejects(
        async () => {
          for await (const _ of parseSse(bytes(bad))) void _;
        },
        (e: unknown) => e instanceof BedrockClaudeError && e.status === 502 && /not a JSON object/.test(e.message),
      );
    }
  });
});
