import { BedrockClaudeError } from '../errors.js';
import { countDeltaBytes } from './delivered.js';
import { EXCEPTION_FOR_TYPE, streamExceptionName } from './bedrock-errors.js';
import { anthropicEventToConverse, type ConverseStreamState } from './converse-response.js';
import { anthropicEventToOpenAI, openAIErrorBody, openAITextChunk, type OpenAIStreamState } from './openai-response.js';
import { parseSse } from './parse-sse.js';
import {
  anthropicEventToResponses,
  responsesFailed,
  responsesTextDelta,
  type ResponsesStreamState,
} from './responses-stream.js';
import {
  encodeChunkFrame,
  encodeEventFrame,
  encodeEventFrameJson,
  encodeExceptionFrame,
  frameHeader,
  type EventFrame,
} from './event-stream.js';
import {
  chunkEventJson,
  emptySummary,
  frameToSse,
  framesToSse,
  observeFrame,
  parseEventJson,
  recordSseEvent,
  sseError,
  sseThrough,
  textDeltaLiteral,
  type StreamSummary,
} from './to-sse.js';

/**
 * A streamed answer as it comes from upstream, tagged with its wire format: Bedrock event-stream
 * frames, or the native Messages API's SSE bytes. The transport's `UpstreamStream` is this type.
 */
export type WireStream =
  | {
      wire: 'bedrock-eventstream';
      /** Decoded frames, a network chunk's worth at a time (the first frame alone). */ frames: AsyncIterable<
        EventFrame[]
      >;
    }
  | { wire: 'anthropic-sse'; /** SSE bytes as the native Messages API sent them. */ bytes: AsyncIterable<Uint8Array> };

/** Whatever ended a stream, as one of our errors (a stray exception is Bedrock misbehaving: 502). */
function asStreamError(err: unknown): BedrockClaudeError {
  return err instanceof BedrockClaudeError
    ? err
    : new BedrockClaudeError('Bedrock sent a stream that could not be read.', {
        status: 502,
        type: 'api_error',
        cause: err,
      });
}

/** An error as the event-stream exception frame Bedrock would send. */
export function exceptionFrameFor(err: BedrockClaudeError): Uint8Array {
  const name =
    err.bedrockType && /^[a-z]/.test(err.bedrockType)
      ? err.bedrockType
      : streamExceptionName(EXCEPTION_FOR_TYPE[err.type]);
  return encodeExceptionFrame(name, err.message);
}

/**
 * A stream as Anthropic SSE bytes, `summary` filled in as it goes. Event-stream frames are
 * transcoded as they arrive (the hot path: event JSON is copied, not parsed, except the events
 * that carry usage); SSE passes through event by event. Whatever ends the stream early (an
 * exception frame, the network, a timeout) becomes a final SSE `error` event with its message.
 *
 * @example
 * ```ts
 * const summary = emptySummary();
 * for await (const bytes of toAnthropicSse(result, summary)) res.write(bytes);
 * ```
 */
export function toAnthropicSse(stream: WireStream, summary: StreamSummary): AsyncGenerator<Uint8Array> {
  return stream.wire === 'bedrock-eventstream'
    ? framesAsSse(stream.frames, summary)
    : sseAs(stream.bytes, summary, 'sse', (e) => sseError(e.type, e.message));
}

/**
 * A stream as Bedrock event-stream frames, `summary` filled in as it goes: Bedrock's own frames
 * pass through byte for byte (exception frames too); SSE events become `chunk` frames; a failure
 * of the network or a timeout becomes the exception frame Bedrock would send.
 */
export function toBedrockEventStream(stream: WireStream, summary: StreamSummary): AsyncGenerator<Uint8Array> {
  return stream.wire === 'bedrock-eventstream'
    ? framesPassThrough(stream.frames, summary)
    : sseAs(stream.bytes, summary, 'eventstream', exceptionFrameFor);
}

function fail(summary: StreamSummary, err: unknown): BedrockClaudeError {
  const e = asStreamError(err);
  summary.error = { type: e.type, message: e.message };
  return e;
}

async function* framesAsSse(frames: AsyncIterable<EventFrame[]>, summary: StreamSummary): AsyncGenerator<Uint8Array> {
  const it = frames[Symbol.asyncIterator]();
  // Nothing from a batch stays in a variable while the next is awaited: a suspended generator keeps
  // its variables, and a stream can sit idle for minutes (see the transport's streamFrames).
  let step: IteratorResult<EventFrame[]> | undefined;
  let out: ReturnType<typeof framesToSse> | undefined;
  try {
    for (;;) {
      step = undefined;
      out = undefined;
      step = await it.next();
      if (step.done) break;
      out = framesToSse(step.value, summary);
      step = undefined;
      if (out.bytes) yield out.bytes;
      if (out.error) throw out.error;
    }
  } catch (err) {
    const e = fail(summary, err);
    yield sseError(e.type, e.message);
  } finally {
    await it.return?.();
  }
}

async function* framesPassThrough(
  frames: AsyncIterable<EventFrame[]>,
  summary: StreamSummary,
): AsyncGenerator<Uint8Array> {
  const it = frames[Symbol.asyncIterator]();
  let step: IteratorResult<EventFrame[]> | undefined;
  try {
    for (;;) {
      step = undefined;
      step = await it.next();
      if (step.done) break;
      const raw = rawFrames(step.value, summary);
      step = undefined;
      if (raw) yield raw;
    }
  } catch (err) {
    yield exceptionFrameFor(fail(summary, err));
  } finally {
    await it.return?.();
  }
}

/** A batch of frames as Bedrock sent them (exception frames too), read only for what they say. */
function rawFrames(frames: readonly EventFrame[], summary: StreamSummary): Uint8Array | undefined {
  if (frames.length === 1) {
    observe(frames[0]!, summary);
    return frames[0]!.raw;
  }
  const raw: Uint8Array[] = [];
  for (const frame of frames) {
    observe(frame, summary);
    raw.push(frame.raw!);
  }
  return raw.length ? Buffer.concat(raw) : undefined;
}

function observe(frame: EventFrame, summary: StreamSummary): void {
  try {
    observeFrame(frame, summary);
  } catch (err) {
    if (!(err instanceof BedrockClaudeError)) throw err;
    summary.error = { type: err.type, message: err.message };
  }
}

async function* sseAs(
  bytes: AsyncIterable<Uint8Array>,
  summary: StreamSummary,
  output: 'sse' | 'eventstream',
  onError: (e: BedrockClaudeError) => Uint8Array,
): AsyncGenerator<Uint8Array> {
  try {
    yield* sseThrough(bytes, summary, output, encodeChunkFrame);
  } catch (err) {
    yield onError(fail(summary, err));
  }
}

/**
 * A stream's Anthropic events, parsed, a batch at a time, `summary` filled in as they pass; an
 * exception frame, an SSE `error` event or a broken stream is thrown as our error. For the fronts
 * whose shape has no byte-for-byte path from Bedrock's (Converse, OpenAI).
 */
export async function* anthropicEvents(stream: WireStream): AsyncGenerator<AnthropicEventItem[]> {
  if (stream.wire === 'anthropic-sse') {
    for await (const event of parseSse(stream.bytes)) yield [event];
    return;
  }
  for await (const frames of stream.frames) {
    const events: AnthropicEventItem[] = [];
    for (const frame of frames) {
      // An exception or error frame throws Bedrock's message as our error.
      if (frameHeader(frame, ':message-type') !== 'event') frameToSse(frame, emptySummary());
      const json = chunkEventJson(frame);
      if (json !== undefined) events.push(json);
    }
    if (events.length) yield events;
  }
}

/**
 * An event parsed, or its JSON not parsed yet (from Bedrock's frames: most are text deltas, copied without a parse).
 */
export type AnthropicEventItem = Record<string, unknown> | string;

/**
 * An event, parsed if it was not, with `summary` filled from it (the numbers the Anthropic front's summary holds);
 * throws an `error` event.
 */
function summarise(item: AnthropicEventItem, summary: StreamSummary): Record<string, unknown> {
  const event = typeof item === 'string' ? parseEventJson(item) : item;
  if (event['type'] === 'message_stop' && event['amazon-bedrock-invocationMetrics'])
    summary.metrics = event['amazon-bedrock-invocationMetrics'] as StreamSummary['metrics'];
  recordSseEvent(summary, event);
  return event;
}

/** A text delta's index and JSON string literal, when the item is one still unparsed. */
function textDelta(item: AnthropicEventItem, summary: StreamSummary): ReturnType<typeof textDeltaLiteral> {
  const delta = typeof item === 'string' ? textDeltaLiteral(item) : undefined;
  if (delta) {
    summary.events++;
    countDeltaBytes(summary.delivered, delta.literal.length - 2); // the literal's quotes
  }
  return delta;
}

/**
 * A stream as ConverseStream's event-stream frames (`messageStart`, `contentBlockDelta`, ...,
 * `metadata`): each Anthropic event is read and mapped (the Converse shape has no byte-for-byte
 * path); an exception becomes the exception frame Bedrock sends. `latencyMs` says the time so far,
 * for `metadata`; `fieldPaths` are the request's `additionalModelResponseFieldPaths`.
 */
export async function* toConverseStream(
  stream: WireStream,
  summary: StreamSummary,
  latencyMs: () => number,
  fieldPaths: readonly string[] = [],
): AsyncGenerator<Uint8Array> {
  const state: ConverseStreamState = { usage: { input_tokens: 0, output_tokens: 0 }, latencyMs: 0, fieldPaths };
  try {
    for await (const events of anthropicEvents(stream)) {
      const out: Uint8Array[] = [];
      for (const item of events) {
        const delta = textDelta(item, summary);
        if (delta) {
          out.push(
            encodeEventFrameJson(
              'contentBlockDelta',
              `{"contentBlockIndex":${delta.index},"delta":{"text":${delta.literal}}}`,
            ),
          );
          continue;
        }
        const event = summarise(item, summary);
        state.latencyMs = latencyMs();
        for (const [name, payload] of anthropicEventToConverse(event, state)) out.push(encodeEventFrame(name, payload));
      }
      if (out.length) yield out.length === 1 ? out[0]! : Buffer.concat(out);
    }
  } catch (err) {
    yield exceptionFrameFor(fail(summary, err));
  }
}

const encoder = new TextEncoder();
const DONE = encoder.encode('data: [DONE]\n\n');

/**
 * A stream re-written event by event in an OpenAI shape: a text delta by `delta` (its JSON string literal, copied
 * without a parse), any other event by `event`; `end` after the last, and `failed` for whatever ended it early.
 */
async function* rewritten(
  stream: WireStream,
  summary: StreamSummary,
  shape: {
    delta(index: number, literal: string): string;
    event(event: Record<string, unknown>): string;
    end?: Uint8Array;
    failed(e: BedrockClaudeError): string;
  },
): AsyncGenerator<Uint8Array> {
  try {
    for await (const events of anthropicEvents(stream)) {
      let text = '';
      for (const item of events) {
        const delta = textDelta(item, summary);
        text += delta ? shape.delta(Number(delta.index), delta.literal) : shape.event(summarise(item, summary));
      }
      if (text) yield encoder.encode(text);
    }
    if (shape.end) yield shape.end;
  } catch (err) {
    yield encoder.encode(shape.failed(fail(summary, err)));
  }
}

/**
 * A stream as OpenAI's chat completion chunks (`data: {...}` lines, then `data: [DONE]`); whatever
 * ends it early becomes a last `data: {"error": {...}}` line, as OpenAI sends one.
 */
export function toOpenAISse(
  stream: WireStream,
  summary: StreamSummary,
  state: OpenAIStreamState,
): AsyncGenerator<Uint8Array> {
  return rewritten(stream, summary, {
    delta: (_index, literal) => `data: ${openAITextChunk(state, literal)}\n\n`,
    event: (event) =>
      anthropicEventToOpenAI(event, state)
        .map((c) => `data: ${JSON.stringify(c)}\n\n`)
        .join(''),
    end: DONE,
    failed: (e) => `data: ${JSON.stringify(openAIErrorBody(e))}\n\n`,
  });
}

/**
 * A stream as the Responses API's events (`event: response.output_text.delta` ...), text deltas copied without a
 * parse; whatever ends it early becomes `response.failed` with the error, as OpenAI ends one.
 */
export function toResponsesSse(
  stream: WireStream,
  summary: StreamSummary,
  state: ResponsesStreamState,
): AsyncGenerator<Uint8Array> {
  return rewritten(stream, summary, {
    delta: (index, literal) => responsesTextDelta(state, index, literal),
    event: (event) => anthropicEventToResponses(event, state),
    failed: (e) => responsesFailed(state, { code: e.type, message: e.message }),
  });
}
