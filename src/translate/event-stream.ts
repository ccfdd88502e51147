import { EventStreamCodec } from '@smithy/core/event-streams';
import type { Message, MessageHeaders } from '@smithy/types';
import { BedrockClaudeError } from '../errors.js';

const utf8Decoder = new TextDecoder();
const utf8Encoder = new TextEncoder();
const fromUtf8 = (text: string): Uint8Array => utf8Encoder.encode(text);

/**
 * UTF-8 decoding for the codec's header names and values, which are the same few short strings in
 * every frame (`:event-type`, `chunk`, ...): those come from a small cache instead of a decoder call.
 */
const shortStrings = new Map<number, Array<{ bytes: Uint8Array; text: string }>>();
function toUtf8(bytes: Uint8Array): string {
  const n = bytes.length;
  if (n === 0 || n > 32) return utf8Decoder.decode(bytes);
  const key = (n << 24) | (bytes[0]! << 16) | (bytes[n >> 1]! << 8) | bytes[n - 1]!;
  const known = shortStrings.get(key);
  if (known) for (const k of known) if (sameBytes(k.bytes, bytes)) return k.text;
  const text = utf8Decoder.decode(bytes);
  if (shortStrings.size < 256 && (known?.length ?? 0) < 4) {
    if (known) known.push({ bytes: bytes.slice(), text });
    else shortStrings.set(key, [{ bytes: bytes.slice(), text }]);
  }
  return text;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** One codec for the process: it is stateless for encode/decode of whole frames. */
const codec = new EventStreamCodec(toUtf8, fromUtf8);

/**
 * The codec's header bytes, remembered per header object: formatting three string headers took
 * ~9.5 us of a frame's ~12 us to encode, and the frames we write carry a few constant header sets
 * (a ConverseStream answer is one frame per event). The framing and CRCs stay the codec's.
 */
const marshaller = (codec as unknown as { headerMarshaller?: { format(headers: MessageHeaders): Uint8Array } })
  .headerMarshaller;
if (marshaller && typeof marshaller.format === 'function') {
  const format = marshaller.format.bind(marshaller);
  const formatted = new WeakMap<MessageHeaders, Uint8Array>();
  marshaller.format = (headers) => {
    let bytes = formatted.get(headers);
    if (!bytes) formatted.set(headers, (bytes = format(headers)));
    return bytes;
  };
}

/** Largest frame we accept (AWS caps event-stream messages at 16 MiB). */
const MAX_FRAME = 16 * 1024 * 1024 + 1024;

/** A decoded AWS event-stream frame, with the bytes it came from (for byte-faithful pass-through). */
export type EventFrame = Message & { raw?: Uint8Array };

/**
 * Cuts bytes, as they arrive in chunks of any size, into whole AWS event-stream frames and decodes
 * them (prelude and message CRCs checked by `@smithy/core`'s codec). Corrupt input raises a
 * `BedrockClaudeError` (502). Synchronous, so a caller can handle a whole network chunk at once.
 */
export class FrameSplitter {
  private buffer: Uint8Array = NO_BYTES;

  /**
   * The frames completed by this chunk (possibly none), at most `max` of them: the rest stay
   * buffered, undecoded, for the next call (`push(new Uint8Array(0))` takes them without new bytes).
   */
  push(chunk: Uint8Array, max = Infinity): EventFrame[] {
    const frames: EventFrame[] = [];
    let buffer = chunk;
    let offset = 0;
    const held = this.buffer;
    if (held.length && !chunk.length) buffer = held;
    else if (held.length) {
      // A frame in progress: join it with just the bytes it lacks, not the whole chunk.
      const total =
        held.length + chunk.length >= 4
          ? frameLength(held.length >= 4 ? held : concat(held, chunk.subarray(0, 4 - held.length)), 0)
          : 0;
      const missing = total - held.length;
      if (total && missing > 0 && missing <= chunk.length) {
        frames.push(decodeFrame(concat(held, chunk.subarray(0, missing))));
        offset = missing;
      } else buffer = concat(held, chunk); // still incomplete, or several whole frames held back by `max`
    }
    while (frames.length < max && buffer.length - offset >= 12) {
      const total = frameLength(buffer, offset);
      if (buffer.length - offset < total) break;
      frames.push(decodeFrame(buffer.subarray(offset, offset + total)));
      offset += total;
    }
    this.buffer = offset === buffer.length ? NO_BYTES : buffer.subarray(offset);
    return frames;
  }

  /** Call at the end of the stream: a partial frame left over is corruption. */
  end(): void {
    if (this.buffer.length) throw corrupt(`stream ended inside a frame (${this.buffer.length} bytes left over)`);
  }
}

/** Splits a byte stream into decoded AWS event-stream frames, one at a time (see {@link FrameSplitter}). */
export async function* decodeEventStream(source: AsyncIterable<Uint8Array>): AsyncGenerator<EventFrame> {
  const splitter = new FrameSplitter();
  for await (const chunk of source) yield* splitter.push(chunk);
  splitter.end();
}

const NO_BYTES = new Uint8Array(0);

/** The total length a frame's prelude declares (checked against what AWS allows). */
function frameLength(bytes: Uint8Array, at: number): number {
  const total = ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
  if (total < 16 || total > MAX_FRAME) throw corrupt(`frame length ${total} is impossible`);
  return total;
}

function decodeFrame(bytes: Uint8Array): EventFrame {
  try {
    const frame: EventFrame = codec.decode(bytes);
    frame.raw = bytes;
    return frame;
  } catch (err) {
    throw corrupt((err as Error).message, err);
  }
}

function corrupt(detail: string, cause?: unknown): BedrockClaudeError {
  return new BedrockClaudeError(`Corrupt event-stream frame from Bedrock: ${detail}.`, {
    status: 502,
    type: 'api_error',
    cause,
  });
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** Reads a string header from a frame. */
export function frameHeader(frame: EventFrame, name: string): string | undefined {
  const h = frame.headers[name];
  return h && h.type === 'string' ? h.value : undefined;
}

function stringHeaders(values: Record<string, string>): MessageHeaders {
  const headers: MessageHeaders = {};
  for (const [k, v] of Object.entries(values)) headers[k] = { type: 'string', value: v };
  return headers;
}

const PADDING = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** Padding like Bedrock's `p` field: a length that varies with the payload, so sizes leak less. */
export function paddingFor(length: number): string {
  return PADDING.slice(0, 1 + ((length * 7) % PADDING.length));
}

const CHUNK_HEADERS: MessageHeaders = {
  ':event-type': { type: 'string', value: 'chunk' },
  ':content-type': { type: 'string', value: 'application/json' },
  ':message-type': { type: 'string', value: 'event' },
};

/**
 * {@link encodeChunkFrame} as a decoded frame with its bytes, as the transport hands frames on (no decode of what was
 * just encoded).
 */
export function chunkEventFrame(eventJson: string): EventFrame {
  const body = fromUtf8(
    `{"bytes":"${Buffer.from(eventJson).toString('base64')}","p":"${paddingFor(eventJson.length)}"}`,
  );
  return { headers: CHUNK_HEADERS, body, raw: codec.encode({ headers: CHUNK_HEADERS, body }) };
}

/** {@link encodeExceptionFrame} as a decoded frame with its bytes. */
export function exceptionEventFrame(exceptionType: string, message: string): EventFrame {
  const headers = stringHeaders({
    ':exception-type': exceptionType,
    ':content-type': 'application/json',
    ':message-type': 'exception',
  });
  const body = fromUtf8(JSON.stringify({ message }));
  return { headers, body, raw: codec.encode({ headers, body }) };
}

/**
 * Encodes one Anthropic streaming event as a Bedrock `chunk` frame:
 * `{"bytes":"<base64 event JSON>","p":"..."}` with `:event-type: chunk`.
 */
export function encodeChunkFrame(eventJson: string): Uint8Array {
  const b64 = Buffer.from(eventJson).toString('base64');
  const payload = `{"bytes":"${b64}","p":"${paddingFor(eventJson.length)}"}`;
  return codec.encode({ headers: CHUNK_HEADERS, body: fromUtf8(payload) });
}

/** The headers of an event frame of one type, made once per type (so their bytes are formatted once). */
const EVENT_HEADERS = new Map<string, MessageHeaders>();
function eventHeaders(eventType: string): MessageHeaders {
  let headers = EVENT_HEADERS.get(eventType);
  if (!headers) {
    headers = stringHeaders({
      ':event-type': eventType,
      ':content-type': 'application/json',
      ':message-type': 'event',
    });
    if (EVENT_HEADERS.size < 64) EVENT_HEADERS.set(eventType, headers);
  }
  return headers;
}

/** Encodes an event frame with a JSON payload (`:event-type` given), as ConverseStream sends. */
export function encodeEventFrame(eventType: string, payload: Record<string, unknown>): Uint8Array {
  return encodeEventFrameJson(eventType, JSON.stringify(payload));
}

/** {@link encodeEventFrame} for a payload already written as a JSON object. */
export function encodeEventFrameJson(eventType: string, json: string): Uint8Array {
  return codec.encode({
    headers: eventHeaders(eventType),
    body: fromUtf8(`${json.slice(0, -1)}${json.length > 2 ? ',' : ''}"p":"${paddingFor(json.length)}"}`),
  });
}

/** Encodes a modelled exception frame (`:message-type: exception`) with `{"message":...}`. */
export function encodeExceptionFrame(exceptionType: string, message: string): Uint8Array {
  return codec.encode({
    headers: stringHeaders({
      ':exception-type': exceptionType,
      ':content-type': 'application/json',
      ':message-type': 'exception',
    }),
    body: fromUtf8(JSON.stringify({ message })),
  });
}

/** Encodes an unmodelled error frame (`:message-type: error`, code and message in headers). */
export function encodeErrorFrame(code: string, message: string): Uint8Array {
  return codec.encode({
    headers: stringHeaders({ ':error-code': code, ':error-message': message, ':message-type': 'error' }),
    body: new Uint8Array(0),
  });
}

/** Encodes raw frames (for tests of corrupt input and for custom events). */
export function encodeFrame(headers: Record<string, string>, body: Uint8Array): Uint8Array {
  return codec.encode({ headers: stringHeaders(headers), body });
}
