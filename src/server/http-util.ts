import type { ServerResponse } from 'node:http';
import { isGone, type AnyRequest, type AnyResponse } from './dual-protocol.js';
import { BedrockClaudeError, invalidRequest } from '../errors.js';
import type { SourceJson } from '../translate/reuse-json.js';

/** The 413 for a body over the limit. */
export function bodyTooLarge(limit: number): BedrockClaudeError {
  return new BedrockClaudeError(`Request body is over the limit of ${limit} bytes.`, {
    status: 413,
    type: 'request_too_large',
    fix: 'Send a smaller request (Bedrock takes at most 25,000,000 bytes).',
  });
}

/** The 408 for a body that stopped arriving. */
export function bodyTimedOut(idleMs: number): BedrockClaudeError {
  return new BedrockClaudeError(`The request body stopped arriving: no byte for ${idleMs} ms.`, {
    status: 408,
    type: 'timeout_error',
    fix: 'Send the whole body without pausing (and a content-length that matches it).',
  });
}

/**
 * Reads a request body up to `limit` bytes (413 `request_too_large` past it); with `idleMs`, a body
 * that goes that long without a byte is a 408.
 */
export function readBody(req: AnyRequest, limit: number, idleMs = 0): Promise<Buffer> {
  const tooLarge = () => bodyTooLarge(limit);
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.reject(tooLarge());
  // Listeners rather than `for await`: a stream's async iterator costs several promises per request.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (err: Error) => {
      done();
      reject(err);
    };
    const timer = idleMs > 0 ? setTimeout(() => fail(bodyTimedOut(idleMs)), idleMs).unref() : undefined;
    const done = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', fail);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      timer?.refresh();
      size += chunk.length;
      if (size > limit) {
        fail(tooLarge());
        req.destroy();
      } else chunks.push(chunk);
    };
    const onEnd = () => {
      done();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onClose = () =>
      fail(
        Object.assign(new Error('The client closed the connection before sending the whole body.'), {
          code: 'ERR_STREAM_PREMATURE_CLOSE',
        }),
      );
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', fail);
    req.on('close', onClose);
  });
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const MAX_DEPTH = 128;

/**
 * The deepest `{`/`[` nesting of a JSON text, counted outside strings (so parsing and walking it cannot overflow the
 * stack).
 */
export function jsonDepth(text: string, limit = MAX_DEPTH): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > max) max = depth;
      if (max > limit) return max;
    } else if (c === 125 || c === 93) depth--;
  }
  return max;
}

/** Whether a body has at least `n` opening brackets: fewer cannot nest deeper than `n` (a native scan, cheap). */
function bracketsAtLeast(bytes: Buffer, n: number): boolean {
  let count = 0;
  for (const bracket of [0x7b, 0x5b]) {
    for (let at = bytes.indexOf(bracket); at >= 0; at = bytes.indexOf(bracket, at + 1)) if (++count >= n) return true;
  }
  return false;
}

/** The most JSON objects a request body may hold (content blocks, messages, tool schemas, ...). */
export const MAX_BODY_OBJECTS = 100_000;

/**
 * Refuses a body with more than `max` JSON objects (outside strings) before it is parsed, so that
 * the work one request costs (parsing, checking, translating, estimating) is bounded: a native
 * count of `{` bytes first (an upper bound), an exact scan only when that is over.
 */
export function checkObjectCount(bytes: Buffer, max = MAX_BODY_OBJECTS): void {
  let braces = 0;
  for (let at = bytes.indexOf(0x7b); at >= 0 && braces <= max; at = bytes.indexOf(0x7b, at + 1)) braces++;
  if (braces <= max || objectsOutsideStrings(bytes) <= max) return;
  throw new BedrockClaudeError(
    `The request body holds more than ${max} JSON objects (content blocks, messages, ...).`,
    {
      status: 413,
      type: 'request_too_large',
      fix: 'Send fewer, larger content blocks: join consecutive text blocks, or compact the conversation.',
    },
  );
}

/** The `{` of a UTF-8 JSON text outside strings (structural bytes are ASCII, never inside a multi-byte character). */
function objectsOutsideStrings(bytes: Buffer): number {
  let count = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123) count++;
  }
  return count;
}

/** Parses a JSON object body, with a 400 that says what is wrong (bad UTF-8, too deep, not JSON, not an object). */
export function parseJsonObject(bytes: Buffer, fix: string): SourceJson {
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    throw invalidRequest('The request body is not valid UTF-8.', 'Send the JSON body encoded as UTF-8.');
  }
  if (bracketsAtLeast(bytes, MAX_DEPTH) && jsonDepth(text) > MAX_DEPTH)
    throw invalidRequest(
      `The request body is nested more than ${MAX_DEPTH} levels deep.`,
      'Flatten the JSON: Bedrock rejects bodies this deep too.',
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalidRequest('The request body is not valid JSON.', fix);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw invalidRequest('The request body must be a JSON object.', fix);
  return { text, value: parsed as Record<string, unknown> };
}

/** Writes a byte stream to the response as it arrives, waiting on backpressure; stops if the client leaves. */
export async function pipeStream(
  res: AnyResponse,
  source: AsyncIterable<Uint8Array>,
  beforeEnd?: () => Promise<void> | undefined | void,
): Promise<void> {
  const out = res as ServerResponse;
  const it = source[Symbol.asyncIterator]();
  let first = true;
  try {
    for (;;) {
      // The bytes go straight from the iterator into the write: no variable holds them while the
      // next ones are awaited (an async function keeps even stale variables while suspended).
      const written = writeNext(out, await it.next());
      if (written === 'done') break;
      if (written === 'full') await drained(out);
      if (first) {
        // node corks a response until the next tick; let the first bytes leave before the rest is transcoded
        first = false;
        await new Promise((r) => setImmediate(r));
      }
    }
  } finally {
    // Like `for await`: a source left early (the client went away) is closed.
    if (isGone(res)) await it.return?.();
  }
  if (isGone(res)) return;
  const durable = beforeEnd?.();
  if (durable) await durable;
  out.end();
}

function writeNext(out: ServerResponse, next: IteratorResult<Uint8Array>): 'done' | 'full' | 'ok' {
  if (next.done || isGone(out)) return 'done';
  return out.write(next.value) ? 'ok' : 'full';
}

/** Resolves when a writable drains or closes, and leaves no listener behind (`events.once` in a race would). */
export function drained(stream: NodeJS.EventEmitter): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

/** The key a caller presents: `x-api-key`, or `Authorization: Bearer` (the scheme in any case, as RFC 9110 has it). */
export function presentedKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const k = headers['x-api-key'];
  if (typeof k === 'string' && k) return k;
  const auth = headers['authorization'];
  if (typeof auth === 'string' && /^bearer\s/i.test(auth)) return auth.slice(7).trim() || undefined;
  return undefined;
}

/**
 * A client-chosen string as a response header value: printable ASCII only (anything else, CR and LF included,
 * becomes `?`) and at most `max` characters, so writing the header can never throw or split it.
 */
export function headerSafe(value: string, max = 2000): string {
  const cut = value.length > max ? value.slice(0, max) : value;
  return /^[\x20-\x7e]*$/.test(cut) ? cut : cut.replace(/[^\x20-\x7e]/g, '?');
}
