/**
 * Text deltas are copied into the Converse and OpenAI shapes without a parse (the fast path); every
 * other event is parsed and mapped. The same stream, as Bedrock's frames (fast path) and as SSE
 * (parsed), must encode to the same bytes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toConverseStream, toOpenAISse, type WireStream } from '../../src/translate/encode-stream.js';
import { chunkEventFrame } from '../../src/translate/event-stream.js';
import { newOpenAIStreamState } from '../../src/translate/openai-response.js';
import { sseEvent, emptySummary, textDeltaLiteral } from '../../src/translate/to-sse.js';

const texts = ['plain', 'he said "hi"\n', 'tab\tand \\ backslash', 'é ü 日本 🎉', '</script><b>', '', '\u0000\u001f'];
const events = [
  {
    type: 'message_start',
    message: { id: 'm', type: 'message', role: 'assistant', content: [], usage: { input_tokens: 5, output_tokens: 1 } },
  },
  { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
  ...texts.map((text) => ({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } })),
  { type: 'content_block_stop', index: 0 },
  { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 9 } },
  { type: 'message_stop' },
];

function asFrames(): WireStream {
  return {
    wire: 'bedrock-eventstream',
    frames: (async function* () {
      yield events.map((e) => chunkEventFrame(JSON.stringify(e)));
    })(),
  };
}
function asSse(): WireStream {
  return {
    wire: 'anthropic-sse',
    bytes: (async function* () {
      for (const e of events) yield sseEvent(String(e.type), JSON.stringify(e));
    })(),
  };
}
async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of it) parts.push(Buffer.from(b));
  return Buffer.concat(parts);
}

describe('text deltas without a parse', () => {
  it("reads Bedrock's compact text deltas, and nothing else", () => {
    assert.deepEqual(
      textDeltaLiteral('{"type":"content_block_delta","index":3,"delta":{"type":"text_delta","text":"a\\"b"}}'),
      { index: '3', literal: '"a\\"b"' },
    );
    for (const other of [
      '{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{"}}',
      '{"index":0,"type":"content_block_delta","delta":{"type":"text_delta","text":"x"}}',
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"},"extra":1}',
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x\\"}}',
    ]) {
      assert.equal(textDeltaLiteral(other), undefined, other);
    }
  });

  it('ConverseStream: the same bytes from frames (fast path) as from parsed events', async () => {
    const fast = emptySummary();
    const slow = emptySummary();
    const a = await collect(toConverseStream(asFrames(), fast, () => 7));
    const b = await collect(toConverseStream(asSse(), slow, () => 7));
    assert.ok(a.length > 200);
    assert.deepEqual(a, b);
    assert.deepEqual(fast, slow);
  });

  it('OpenAI chunks: the same bytes from frames (fast path) as from parsed events', async () => {
    for (const includeUsage of [true, false]) {
      const meta = { id: 'chatcmpl-x', created: 1, model: 'claude-haiku-4-5' };
      const a = await collect(toOpenAISse(asFrames(), emptySummary(), newOpenAIStreamState(meta, includeUsage)));
      const b = await collect(toOpenAISse(asSse(), emptySummary(), newOpenAIStreamState(meta, includeUsage)));
      assert.equal(a.toString(), b.toString());
      const contents = a
        .toString()
        .split('\n\n')
        .filter((l) => l.startsWith('data: {'))
        .map((l) => JSON.parse(l.slice(6)) as { choices: Array<{ delta: { content?: string } }> })
        .map((c) => c.choices[0]?.delta.content ?? '')
        .join('');
      assert.equal(contents, texts.join(''));
    }
  });
});
