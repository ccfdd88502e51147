import { BedrockClaudeError, type AnthropicErrorType } from '../errors.js';
import { countDelta, countRawDelta, type Delivered } from './delivered.js';
import type { Usage } from '../catalog/estimate-cost.js';
import { bedrockErrorKind } from './bedrock-errors.js';
import { FrameSplitter, frameHeader, type EventFrame } from './event-stream.js';
import { parseSse } from './parse-sse.js';

/** Bedrock's per-invocation metrics, taken off the `message_stop` event. */
export interface InvocationMetrics {
  inputTokenCount?: number;
  outputTokenCount?: number;
  invocationLatency?: number;
  firstByteLatency?: number;
  cacheReadInputTokenCount?: number;
  cacheWriteInputTokenCount?: number;
}

/** What a stream amounted to, filled in as it is transcoded. */
export interface StreamSummary {
  usage: Usage;
  stopReason: string | null;
  metrics: InvocationMetrics | undefined;
  /** The error that ended the stream, if any (already sent to the client as an SSE `error` event). */
  error: { type: AnthropicErrorType; message: string } | undefined;
  events: number;
  /** The content deltas passed on: the output charged when no final usage comes. */
  delivered: Delivered;
}

export function emptySummary(): StreamSummary {
  return {
    usage: { input_tokens: 0, output_tokens: 0 },
    stopReason: null,
    metrics: undefined,
    error: undefined,
    events: 0,
    delivered: { deltas: 0, bytes: 0 },
  };
}

const encoder = new TextEncoder();
const TYPE_PREFIX = /^\{\s*"type"\s*:\s*"([a-z_]+)"/;

/** Formats one SSE event as the Anthropic API sends it. */
export function sseEvent(name: string, dataJson: string): Uint8Array {
  return encoder.encode(`event: ${name}\ndata: ${dataJson}\n\n`);
}

/** An event type as an SSE event name: it goes on the `event:` line, where a newline would break the framing. */
function eventName(type: string): string {
  return type.replace(/[^A-Za-z0-9_]/g, '_');
}

/** The SSE `error` event for an error type and message. */
export function sseError(type: AnthropicErrorType, message: string): Uint8Array {
  return sseEvent('error', JSON.stringify({ type: 'error', error: { type, message } }));
}

function record(summary: StreamSummary, type: string, event: Record<string, unknown>): void {
  summary.events++;
  if (type === 'content_block_delta') countDelta(summary.delivered, event['delta'] as Record<string, unknown>);
  else if (type === 'message_start') {
    const usage = (event['message'] as { usage?: Usage } | undefined)?.usage;
    if (usage) summary.usage = Object.assign({}, summary.usage, usage);
  } else if (type === 'message_delta') {
    const usage = event['usage'] as Partial<Usage> | undefined;
    if (usage) summary.usage = Object.assign({}, summary.usage, stripNull(usage));
    const delta = event['delta'] as { stop_reason?: string } | undefined;
    if (delta?.stop_reason) summary.stopReason = delta.stop_reason;
  }
}

/** Usage without its null and undefined counts (a stream's later events send `null` for what they do not change). */
export function stripNull(usage: Partial<Usage>): Partial<Usage> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(usage)) if (v !== null && v !== undefined) out[k] = v;
  return out as Partial<Usage>;
}

/**
 * Records what a frame says (usage, stop reason, metrics) without producing SSE, for pass-through
 * of Bedrock streams to Bedrock-format clients. Throws for exception and error frames, like `frameToSse`.
 */
export function observeFrame(frame: EventFrame, summary: StreamSummary): void {
  const messageType = frameHeader(frame, ':message-type');
  if (messageType !== 'event') {
    frameToSse(frame, summary);
    return;
  }
  if (frameHeader(frame, ':event-type') !== 'chunk') return;
  const b64 = /"bytes":"([^"]*)"/.exec(Buffer.from(frame.body).toString('latin1'))?.[1];
  if (!b64) return;
  const json = Buffer.from(b64, 'base64').toString('utf8');
  const type = TYPE_PREFIX.exec(json)?.[1];
  // Only the events that carry usage or metrics are parsed; a chunk that is not JSON is the client's to judge.
  const event =
    type === 'message_start' || type === 'message_delta' || type === 'message_stop' ? parseObject(json) : undefined;
  if (!type || !event) {
    summary.events++;
    if (type === 'content_block_delta') countRawDelta(summary.delivered, json.length);
    return;
  }
  if (type === 'message_stop')
    summary.metrics = event['amazon-bedrock-invocationMetrics'] as InvocationMetrics | undefined;
  record(summary, type, event);
}

function parseObject(json: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(json);
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Turns one decoded frame into SSE bytes (or nothing), updating the summary. Throws for exceptions. */
export function frameToSse(frame: EventFrame, summary: StreamSummary): Uint8Array | undefined {
  const parts: Uint8Array[] = [];
  appendSse(frame, summary, parts);
  return join(parts);
}

/** {@link frameToSse}, adding the SSE bytes to `parts` (so a batch of frames is joined in one copy). */
function appendSse(frame: EventFrame, summary: StreamSummary, parts: Uint8Array[]): void {
  const messageType = frameHeader(frame, ':message-type');
  if (messageType === 'exception' || messageType === 'error') throw frameError(frame, messageType);
  if (frameHeader(frame, ':event-type') !== 'chunk') return;

  const b64 = chunkBytesField(frame.body);
  if (b64 === undefined) return;
  const raw = Buffer.from(b64, 'base64');
  const type = leadingType(raw);
  // message_start/message_delta carry usage and message_stop the metrics we take off: those are
  // parsed. Anything unusual (no leading type, a raw newline) is parsed and re-serialised too, so
  // the SSE framing holds.
  const unusual = type === undefined || raw.includes(10);
  if (unusual || type === 'message_start' || type === 'message_delta' || type === 'message_stop') {
    appendParsed(raw, type, unusual, summary, parts);
    return;
  }
  summary.events++;
  if (type === 'content_block_delta') countRawDelta(summary.delivered, raw.length);
  // The event's JSON bytes go out as they came, between the SSE framing: no decode, no re-encode.
  parts.push(ssePrefix(type), raw, SSE_END);
}

/** An exception or error frame as the error it reports (Bedrock's own message and type, where it gives them). */
function frameError(frame: EventFrame, messageType: 'exception' | 'error'): BedrockClaudeError {
  if (messageType === 'error') {
    const code = frameHeader(frame, ':error-code') ?? 'UnknownError';
    return new BedrockClaudeError(frameHeader(frame, ':error-message') ?? code, {
      status: 502,
      type: 'api_error',
      bedrockType: code,
    });
  }
  const exceptionType = frameHeader(frame, ':exception-type') ?? 'internalServerException';
  let message = `Bedrock sent ${exceptionType}`;
  try {
    const parsed = JSON.parse(Buffer.from(frame.body).toString('utf8')) as { message?: unknown; Message?: unknown };
    const m = parsed.message ?? parsed.Message;
    if (typeof m === 'string') message = m;
  } catch {
    // keep the generic message: the exception type alone is still worth passing on
  }
  return new BedrockClaudeError(message, {
    status: 502,
    type: bedrockErrorKind(exceptionType)?.type ?? 'api_error',
    bedrockType: exceptionType,
  });
}

/** An event read for what it says (usage, metrics, or unusual bytes): recorded, then passed on or re-serialised. */
function appendParsed(
  raw: Buffer,
  type: string | undefined,
  unusual: boolean,
  summary: StreamSummary,
  parts: Uint8Array[],
): void {
  let event: Record<string, unknown>;
  try {
    event = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new BedrockClaudeError('Bedrock sent a chunk whose bytes are not JSON.', { status: 502, type: 'api_error' });
  }
  const parsedType = typeof event['type'] === 'string' ? event['type'] : undefined;
  if (!parsedType) return;
  let changed = false;
  if (parsedType === 'message_stop' && 'amazon-bedrock-invocationMetrics' in event) {
    summary.metrics = event['amazon-bedrock-invocationMetrics'] as InvocationMetrics;
    delete event['amazon-bedrock-invocationMetrics'];
    changed = true;
  }
  record(summary, parsedType, event);
  if (unusual || changed || parsedType !== type) {
    parts.push(sseEvent(eventName(parsedType), JSON.stringify(event)));
    return;
  }
  // Read only for what it says: the bytes go out as Bedrock sent them.
  parts.push(ssePrefix(parsedType), raw, SSE_END);
}

const TYPE_OPEN = Buffer.from('{"type":"');

/**
 * The event type from the first bytes of Bedrock's compact JSON (`{"type":"name",...`), read off
 * the bytes (no string, no regex: this runs once per event). Anything else is undefined, and the
 * caller parses the JSON instead.
 */
function leadingType(raw: Buffer): string | undefined {
  if (raw.length < 12 || raw.compare(TYPE_OPEN, 0, TYPE_OPEN.length, 0, TYPE_OPEN.length) !== 0) return undefined;
  const end = Math.min(raw.length, TYPE_OPEN.length + 40);
  for (let i = TYPE_OPEN.length; i < end; i++) {
    const c = raw[i]!;
    if (c === 34) return i > TYPE_OPEN.length ? raw.toString('latin1', TYPE_OPEN.length, i) : undefined;
    if (c !== 95 && (c < 97 || c > 122)) return undefined; // [a-z_] only: it goes on the `event:` line
  }
  return undefined;
}

const prefixes = new Map<string, Buffer>();

/** `event: TYPE\ndata: ` as bytes, made once per event type. */
function ssePrefix(type: string): Buffer {
  let prefix = prefixes.get(type);
  if (!prefix) {
    prefix = Buffer.from(`event: ${type}\ndata: `, 'latin1');
    if (prefixes.size < 64) prefixes.set(type, prefix);
  }
  return prefix;
}

const SSE_END = Buffer.from('\n\n');
const BYTES_FIELD = Buffer.from('"bytes":"');

/**
 * The base64 `bytes` of a chunk payload (`{"bytes":"...","p":"..."}`), found without parsing the
 * JSON (base64 has no quote or backslash); a payload that does not look like that is parsed properly.
 */
function chunkBytesField(body: Uint8Array): string | undefined {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  // Bedrock's payload starts with the field (`{"bytes":"`); anywhere else in an object, search for it.
  const at =
    buf[0] !== 123
      ? -1
      : buf.length > BYTES_FIELD.length &&
          buf.compare(BYTES_FIELD, 0, BYTES_FIELD.length, 1, 1 + BYTES_FIELD.length) === 0
        ? 1
        : buf.indexOf(BYTES_FIELD);
  const end = at >= 0 ? buf.indexOf(34, at + BYTES_FIELD.length) : -1;
  if (end > 0) return buf.toString('latin1', at + BYTES_FIELD.length, end);
  let parsed: unknown;
  try {
    parsed = JSON.parse(buf.toString('utf8'));
  } catch {
    throw new BedrockClaudeError('Bedrock sent a chunk whose payload is not JSON.', { status: 502, type: 'api_error' });
  }
  const b64 = (parsed as { bytes?: unknown } | null)?.bytes;
  return typeof b64 === 'string' ? b64 : undefined;
}

/** The JSON of the Anthropic event a `chunk` frame carries, not parsed; undefined for any other frame. */
export function chunkEventJson(frame: EventFrame): string | undefined {
  if (frameHeader(frame, ':message-type') !== 'event' || frameHeader(frame, ':event-type') !== 'chunk')
    return undefined;
  const b64 = chunkBytesField(frame.body);
  return b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');
}

/** An event's JSON, parsed (Bedrock sending something that is not an object is a 502). */
export function parseEventJson(json: string): Record<string, unknown> {
  const event = parseObject(json);
  if (!event)
    throw new BedrockClaudeError('Bedrock sent a chunk whose bytes are not JSON.', { status: 502, type: 'api_error' });
  return event;
}

/** The Anthropic event a `chunk` frame carries, parsed; undefined for any other frame. */
export function chunkEvent(frame: EventFrame): Record<string, unknown> | undefined {
  const json = chunkEventJson(frame);
  return json === undefined ? undefined : parseEventJson(json);
}

const TEXT_DELTA =
  /^\{"type":"content_block_delta","index":(\d+),"delta":\{"type":"text_delta","text":("(?:[^"\\]|\\.)*")\}\}$/;

/**
 * A text delta (most of a stream's events) read without parsing: its block index and its text as
 * the JSON string literal Bedrock wrote, to copy into another front's shape as it is. Undefined for
 * any other event, or one not in Bedrock's compact form (it is parsed instead).
 */
export function textDeltaLiteral(json: string): { index: string; literal: string } | undefined {
  const m = TEXT_DELTA.exec(json);
  return m ? { index: m[1]!, literal: m[2]! } : undefined;
}

/**
 * Transcodes a Bedrock `invoke-with-response-stream` body (AWS event-stream bytes) into Anthropic
 * SSE bytes as frames arrive. Padding is ignored, the invocation metrics are taken off
 * `message_stop` into `summary`, and an exception frame (or a corrupt frame) becomes a final SSE
 * `error` event that keeps Bedrock's message.
 *
 * @example
 * ```ts
 * const summary = emptySummary();
 * for await (const bytes of eventStreamToSse(response.body, summary)) res.write(bytes);
 * console.log(summary.usage, summary.metrics);
 * ```
 */
export async function* eventStreamToSse(
  source: AsyncIterable<Uint8Array>,
  summary: StreamSummary = emptySummary(),
): AsyncGenerator<Uint8Array> {
  const splitter = new FrameSplitter();
  try {
    for await (const chunk of source) {
      // Everything one network chunk completes goes out as one write.
      const { bytes, error } = framesToSse(splitter.push(chunk), summary);
      if (bytes) yield bytes;
      if (error) throw error;
    }
    splitter.end();
  } catch (err) {
    if (!(err instanceof BedrockClaudeError)) throw err;
    summary.error = { type: err.type, message: err.message };
    yield sseError(err.type, err.message);
  }
}

/**
 * The SSE bytes for a batch of frames as one buffer, and the exception that stopped it, if a frame
 * was one (the events before it still go out).
 */
export function framesToSse(
  frames: readonly EventFrame[],
  summary: StreamSummary,
): { bytes: Uint8Array | undefined; error: BedrockClaudeError | undefined } {
  const parts: Uint8Array[] = [];
  for (const frame of frames) {
    try {
      appendSse(frame, summary, parts);
    } catch (err) {
      if (!(err instanceof BedrockClaudeError)) throw err;
      return { bytes: join(parts), error: err };
    }
  }
  return { bytes: join(parts), error: undefined };
}

function join(parts: Uint8Array[]): Uint8Array | undefined {
  return parts.length === 0 ? undefined : parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

/**
 * Records what one parsed Anthropic SSE event says in `summary`; an `error` event is thrown as our
 * error, with its type and message.
 */
export function recordSseEvent(summary: StreamSummary, event: Record<string, unknown>): void {
  const type = typeof event['type'] === 'string' ? event['type'] : undefined;
  if (type === 'error') {
    const e = event['error'] as { type?: AnthropicErrorType; message?: string } | undefined;
    throw new BedrockClaudeError(e?.message ?? 'error', { status: 502, type: e?.type ?? 'api_error' });
  }
  if (type) record(summary, type, event);
}

/**
 * Passes an Anthropic SSE stream (Bedrock Mantle answers in SSE) on event by event, recording usage
 * in `summary`; with `output: 'eventstream'` each event becomes a Bedrock chunk frame instead.
 */
export async function* sseThrough(
  source: AsyncIterable<Uint8Array>,
  summary: StreamSummary,
  output: 'sse' | 'eventstream',
  toFrame: (json: string) => Uint8Array,
): AsyncGenerator<Uint8Array> {
  for await (const event of parseSse(source)) {
    const type = typeof event['type'] === 'string' ? event['type'] : undefined;
    if (!type) continue;
    if (type === 'error') {
      const e = event['error'] as { type?: AnthropicErrorType; message?: string } | undefined;
      summary.error = { type: e?.type ?? 'api_error', message: e?.message ?? 'error' };
    } else {
      record(summary, type, event);
    }
    const json = JSON.stringify(event);
    yield output === 'sse' ? sseEvent(eventName(type), json) : toFrame(json);
  }
}
