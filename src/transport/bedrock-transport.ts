import { createRequire } from 'node:module';
import type * as Undici from 'undici';
import type { Dispatcher } from 'undici';
import type { Catalog, ModelEntry } from '../catalog/catalog.js';
import { getDefaultCatalog } from '../catalog/catalog.js';
import type { Usage } from '../catalog/estimate-cost.js';
import type { BedrockAuth } from '../aws/credentials.js';
import { bedrockEndpoint, createBedrockSigner } from '../aws/signer.js';
import { BedrockClaudeError } from '../errors.js';
import { fromBedrockError } from '../translate/errors.js';
import { encodeChunkFrame, encodeExceptionFrame, FrameSplitter, frameHeader, type EventFrame } from '../translate/event-stream.js';
import { stringifyReusing } from '../translate/reuse-json.js';
import type { SanitizePolicy } from '../translate/sanitize.js';
import { emptySummary, framesToSse, frameToSse, observeFrame, sseError, sseThrough, type StreamSummary } from '../translate/to-sse.js';
import { fromCountTokensBody, fromCountTokensResponse, toBedrockRequest, type AnthropicHttpRequest, type BedrockHttpRequest } from '../translate/to-bedrock.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import { Abort, type AbortLike } from './abort.js';
import { createSemaphore } from './semaphore.js';

export type { AbortLike };

// Only the parts used: undici's index also loads fetch (and with it Node's own bundled copy of
// undici), the cache, mocks and interceptors: ~8 MB of RSS at start-up.
const require = createRequire(import.meta.url);
const Agent: typeof Undici.Agent = require('undici/lib/dispatcher/agent.js');
const { request: undiciRequest } = require('undici/lib/api/index.js') as { request: (this: Dispatcher, options: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData> };

/** One place a request can go: a region, a model ID (or profile, or ARN) and a backend. */
export interface Target {
  region: string;
  modelId: string;
  model?: ModelEntry | undefined;
  /** `invoke` (InvokeModel, default) or `mantle` (native Messages API). */
  backend?: 'invoke' | 'mantle';
  /** Base URL override for this target (VPC endpoint, FIPS, emulator). */
  endpoint?: string | undefined;
}

export interface TransportOptions {
  auth: BedrockAuth;
  /** Base URL for every region (emulator, VPC endpoint). Default: the regional Bedrock host. */
  endpoint?: string | undefined;
  catalog?: Catalog | undefined;
  policy?: SanitizePolicy | undefined;
  timeouts?: { connectMs?: number | undefined; firstByteMs?: number | undefined; idleMs?: number | undefined } | undefined;
  /** Retries per target (default 2), backoff base and cap in ms. */
  retry?: { max?: number | undefined; baseMs?: number | undefined; capMs?: number | undefined; maxRetryAfterMs?: number | undefined } | undefined;
  breaker?: CircuitBreaker | undefined;
  /** Most requests in flight to one target at once; more wait their turn (default: no limit). */
  maxConcurrencyPerTarget?: number | undefined;
  dispatcher?: Dispatcher | undefined;
  /** Observes retries, failovers and upstream errors (metrics). */
  onEvent?: ((event: TransportEvent) => void) | undefined;
  /** For tests: replaces the sleep between retries. */
  sleep?: ((ms: number) => Promise<void>) | undefined;
  random?: (() => number) | undefined;
}

export type TransportEvent =
  | { type: 'retry'; target: Target; attempt: number; delayMs: number; error: BedrockClaudeError }
  | { type: 'failover'; from: Target; to: Target; error: BedrockClaudeError }
  | { type: 'upstream_error'; target: Target; error: BedrockClaudeError }
  | { type: 'circuit_open'; target: Target };

interface AttemptInfo {
  target: Target;
  attempts: number;
  /** What translation dropped or changed for this target (the body itself is not kept: a stream can last minutes). */
  removals: BedrockHttpRequest['removals'];
  /** Milliseconds from sending to the first byte (headers, or first frame for streams). */
  ttfbMs: number;
  headers: Record<string, string | string[] | undefined>;
}

export type MessagesResult =
  | (AttemptInfo & { kind: 'json'; body: Record<string, unknown>; usage: Usage | undefined; /** The bytes Bedrock sent, when `body` is exactly them (not for count-tokens). */ raw?: Buffer })
  | (AttemptInfo & { kind: 'stream'; /** SSE bytes, or Bedrock event-stream frames with `output: 'eventstream'`. */ sse: AsyncIterable<Uint8Array>; summary: StreamSummary });

/** Stream output: Anthropic SSE (default), or Bedrock's event-stream frames passed through byte for byte. */
export type StreamOutput = 'sse' | 'eventstream';

/** An error as the event-stream exception frame Bedrock would send. */
function exceptionFrameFor(err: BedrockClaudeError): Uint8Array {
  const byType: Record<string, string> = { rate_limit_error: 'throttlingException', overloaded_error: 'serviceUnavailableException', timeout_error: 'modelTimeoutException', invalid_request_error: 'validationException' };
  const name = err.bedrockType && /^[a-z]/.test(err.bedrockType) ? err.bedrockType : (byType[err.type] ?? 'internalServerException');
  return encodeExceptionFrame(name, err.message);
}

const NO_BYTES = new Uint8Array(0);
const NO_FRAMES: EventFrame[] = [];
const ignore = () => undefined;
const ONE_SHOT_BYTES = 16 * 1024;

/**
 * The bytes as an iterable that yields them once and then holds no reference to them. undici takes
 * an Iterable body (its Dispatcher docs say so; its type definitions leave it out).
 */
function oneShot(bytes: Buffer): Iterable<Buffer> {
  let held: Buffer | undefined = bytes;
  return {
    [Symbol.iterator]: () => ({
      next: (): IteratorResult<Buffer> => {
        const value = held;
        held = undefined;
        return value ? { value, done: false } : { value: undefined, done: true };
      },
    }),
  };
}

const RETRYABLE_TYPES = new Set(['rate_limit_error', 'overloaded_error', 'api_error', 'timeout_error']);

function isRetryable(err: BedrockClaudeError): boolean {
  return RETRYABLE_TYPES.has(err.type);
}

function targetKey(t: Target): string {
  return `${t.region}/${t.modelId}/${t.backend ?? 'invoke'}`;
}

const utf8 = new TextEncoder();

/** A string's UTF-8 bytes in a buffer of their own (not a slice of Buffer's shared pool). */
function ownBytes(text: string): Buffer {
  const bytes = utf8.encode(text);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The frames the next network chunk completes, or undefined at the end of the body. */
async function nextFrames(chunks: AsyncIterator<Uint8Array>, splitter: FrameSplitter): Promise<EventFrame[] | undefined> {
  const next = await chunks.next();
  return next.done ? undefined : splitter.push(next.value);
}

/** The Messages body Mantle takes: the sanitised body with `model` (and `stream`) back, no `anthropic_version`. */
function mantleBody(translated: BedrockHttpRequest, modelId: string): Record<string, unknown> {
  const inner = translated.operation === 'count-tokens' ? fromCountTokensBody(translated.body) : translated.body;
  const { anthropic_version: _v, anthropic_beta: _b, max_tokens, ...rest } = inner;
  return { model: modelId, ...rest, ...(translated.operation === 'count-tokens' ? {} : { max_tokens }), ...(translated.stream ? { stream: true } : {}) };
}

function timeoutError(code: string, ms: number): Error {
  return Object.assign(new Error(`no ${code === 'UND_ERR_HEADERS_TIMEOUT' ? 'first byte' : 'data'} for ${ms} ms`), { code });
}

/**
 * A response body's chunks, pulled in paused mode (`read()` on demand), failing with a body timeout
 * when the body stays silent for `ms` (an idle gap inside a stream). One timer, refreshed per chunk;
 * no stream iterator and no promise per chunk that is already buffered.
 */
function readChunks(body: Dispatcher.ResponseData['body'], ms: number): AsyncIterableIterator<Uint8Array> & { return(): Promise<IteratorResult<Uint8Array>> } {
  const DONE: IteratorResult<Uint8Array> = { value: undefined, done: true };
  let waiting: { resolve: (r: IteratorResult<Uint8Array>) => void; reject: (e: unknown) => void } | undefined;
  let ended = body.readableEnded;
  let failure: unknown = body.errored ?? (body.destroyed && !ended ? new Error('The upstream body was closed.') : undefined);
  const timer = setTimeout(() => {
    const e = timeoutError('UND_ERR_BODY_TIMEOUT', ms);
    body.destroy(e);
    fail(e);
  }, ms);
  timer.unref();
  function take(): IteratorResult<Uint8Array> | undefined {
    const chunk = body.read() as Uint8Array | null;
    if (chunk !== null) {
      timer.refresh();
      return { value: chunk, done: false };
    }
    return ended ? DONE : undefined;
  }
  function settle(): void {
    if (!waiting) return;
    const w = waiting;
    if (failure !== undefined) {
      waiting = undefined;
      w.reject(failure);
      return;
    }
    const result = take();
    if (result) {
      waiting = undefined;
      w.resolve(result);
    }
  }
  function fail(err: unknown): void {
    if (failure === undefined) failure = err;
    clearTimeout(timer);
    settle();
  }
  const onEnd = () => {
    ended = true;
    settle();
  };
  const onClose = () => {
    if (!ended) fail(body.errored ?? new Error('The upstream body was closed.'));
  };
  body.on('readable', settle);
  body.on('end', onEnd);
  body.on('error', fail);
  body.on('close', onClose);
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    clearTimeout(timer);
    body.off('readable', settle);
    body.off('end', onEnd);
    body.off('close', onClose);
    // An error after this (the body destroyed late) must still have a listener, or it would crash the process.
    body.off('error', fail);
    body.on('error', ignore);
  };
  return {
    next() {
      if (failure !== undefined) return Promise.reject(failure);
      const result = take();
      if (result === DONE) stop();
      if (result) return Promise.resolve(result);
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
      });
    },
    return() {
      stop();
      return Promise.resolve(DONE);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** Resolves a promise, or fails with a body timeout after `ms`. */
function withTimeout<T>(promise: Promise<T>, ms: number, body: Dispatcher.ResponseData['body']): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const e = timeoutError('UND_ERR_BODY_TIMEOUT', ms);
      body.destroy(e);
      reject(e);
    }, ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A 200 answer's JSON object; anything else is Bedrock misbehaving (502, retried). */
function parseUpstreamJson(raw: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    value = undefined;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new BedrockClaudeError('Bedrock answered 200 with a body that is not a JSON object.', { status: 502, type: 'api_error' });
  return value as Record<string, unknown>;
}

/** Errors from sockets and undici timeouts, as a retryable `BedrockClaudeError`. */
export function networkError(err: unknown, target: Target): BedrockClaudeError {
  if (err instanceof BedrockClaudeError) return err;
  const e = err as { code?: string; name?: string; message?: string };
  const timeout = e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT' || e.code === 'UND_ERR_CONNECT_TIMEOUT';
  return new BedrockClaudeError(
    timeout ? `Bedrock in ${target.region} did not answer in time (${e.code}).` : `Could not reach Bedrock in ${target.region}: ${e.code ?? e.name ?? 'error'} ${e.message ?? ''}`.trim(),
    { status: timeout ? 504 : 502, type: timeout ? 'timeout_error' : 'api_error', cause: err },
  );
}

/**
 * Sends Anthropic requests to Bedrock: translates per target, signs, sends over a keep-alive pool,
 * retries throttling/5xx/timeouts/connection errors with exponential backoff and full jitter
 * (honouring Retry-After) while no byte has reached the caller, then fails over to the next target.
 *
 * @example
 * ```ts
 * const transport = createTransport({ auth: resolveBedrockAuth() });
 * const result = await transport.messages(
 *   { path: '/v1/messages', body: { model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] } },
 *   [{ region: 'us-west-2', modelId: 'global.anthropic.claude-sonnet-4-5-20250929-v1:0' }],
 * );
 * ```
 */
export function createTransport(options: TransportOptions) {
  const catalog = options.catalog ?? getDefaultCatalog();
  // No cap on connections per origin: each open stream needs one, and a cap would queue requests
  // silently behind it. `maxConcurrencyPerTarget` is the limit to set.
  const dispatcher = options.dispatcher ?? new Agent({ keepAliveTimeout: 30_000, connections: null, connect: { timeout: options.timeouts?.connectMs ?? 10_000 } });
  const signers = new Map<string, ReturnType<typeof createBedrockSigner>>();
  const signerFor = (region: string, service: string) => {
    const key = `${region}/${service}`;
    let s = signers.get(key);
    if (!s) signers.set(key, (s = createBedrockSigner({ region, auth: options.auth, service })));
    return s;
  };
  const maxRetries = options.retry?.max ?? 2;
  const baseMs = options.retry?.baseMs ?? 200;
  const capMs = options.retry?.capMs ?? 5_000;
  const maxRetryAfterMs = options.retry?.maxRetryAfterMs ?? 20_000;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = options.random ?? Math.random;
  const firstByteMs = options.timeouts?.firstByteMs ?? 60_000;
  const semaphores = new Map<string, ReturnType<typeof createSemaphore>>();
  const slotFor = (t: Target, signal: AbortLike | undefined) => {
    const key = targetKey(t);
    let sem = semaphores.get(key);
    if (!sem) semaphores.set(key, (sem = createSemaphore(options.maxConcurrencyPerTarget ?? 0)));
    return sem.acquire(signal);
  };
  const idleMs = options.timeouts?.idleMs ?? 120_000;

  async function sendOnce(target: Target, translated: BedrockHttpRequest, body: Buffer, signal: AbortLike | undefined, extraHeaders: Record<string, string>) {
    const base = target.endpoint ?? options.endpoint ?? bedrockEndpoint(target.region, target.backend === 'mantle' ? 'mantle' : 'runtime');
    const url = new URL(base);
    const prefix = url.pathname.replace(/\/+$/, '');
    const mantle = target.backend === 'mantle';
    url.pathname = mantle ? `${prefix}/anthropic/v1/messages${translated.operation === 'count-tokens' ? '/count_tokens' : ''}` : `${prefix}${translated.path}`;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: translated.stream ? 'application/vnd.amazon.eventstream' : 'application/json',
      ...extraHeaders,
    };
    if (mantle && translated.betas.length) headers['anthropic-beta'] = translated.betas.join(',');
    if (mantle) headers['anthropic-version'] = '2023-06-01';
    if (translated.stream && mantle) headers['accept'] = 'text/event-stream';
    else if (translated.stream) headers['x-amzn-bedrock-accept'] = 'application/json';
    const signed = await signerFor(target.region, target.backend === 'mantle' ? 'bedrock-mantle' : 'bedrock')({ method: 'POST', url, headers, body });
    const started = performance.now();
    // One abort channel into undici for the caller going away (a client disconnect) and for our exact
    // first-byte timeout. undici's own timeouts tick at about a second: a backstop.
    const abort = new Abort();
    const onCallerAbort = () => abort.abort(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal?.aborted) onCallerAbort();
    else signal?.addEventListener('abort', onCallerAbort, { once: true });
    const timer = setTimeout(() => abort.abort(timeoutError('UND_ERR_HEADERS_TIMEOUT', firstByteMs)), firstByteMs);
    try {
      // undici keeps a request's body until the answer ends: for a stream that is minutes of a big body per
      // open stream, so a big one goes as a one-shot iterable that lets go of the bytes once written.
      const once = translated.stream && body.length > ONE_SHOT_BYTES;
      const res = await undiciRequest.call(dispatcher, { origin: url.origin, path: url.pathname + url.search, method: 'POST', headers: once ? Object.assign({}, signed, { 'content-length': String(body.length) }) : signed, body: once ? (oneShot(body) as unknown as Buffer) : body, headersTimeout: firstByteMs + 1000, bodyTimeout: idleMs + 1000, signal: abort });
      // Until the body closes, the caller going away makes undici destroy it at once, not at its next chunk.
      if (signal) res.body.once('close', () => signal.removeEventListener('abort', onCallerAbort));
      return { res, started };
    } catch (err) {
      signal?.removeEventListener('abort', onCallerAbort);
      throw abort.aborted && !signal?.aborted ? abort.reason : err;
    } finally {
      clearTimeout(timer);
    }
  }

  async function failFromResponse(res: Dispatcher.ResponseData, target: Target): Promise<BedrockClaudeError> {
    const text = await res.body.text().catch(() => '');
    const retryAfterHeader = res.headers['retry-after'];
    const retryAfter = typeof retryAfterHeader === 'string' && /^\d+$/.test(retryAfterHeader) ? Number(retryAfterHeader) : undefined;
    const errType = res.headers['x-amzn-errortype'];
    const err = fromBedrockError(res.statusCode, typeof errType === 'string' ? errType : undefined, text, retryAfter);
    options.onEvent?.({ type: 'upstream_error', target, error: err });
    return err;
  }

  /** One target, with retries. Returns the result or throws the last error. */
  async function attemptTarget(request: AnthropicHttpRequest, target: Target, signal: AbortLike | undefined, extraHeaders: Record<string, string>, output: StreamOutput, policy: SanitizePolicy | undefined, pretranslated: BedrockHttpRequest | undefined): Promise<MessagesResult> {
    const translated = pretranslated ?? toBedrockRequest(request, { modelId: target.modelId, model: target.model, catalog, policy: policy ?? options.policy });
    // Serialised once for every attempt; members translation left alone keep the client's JSON text.
    const mantle = target.backend === 'mantle';
    const text = translated.operation === 'count-tokens' && !mantle ? JSON.stringify(translated.body) : stringifyReusing(mantle ? mantleBody(translated, target.modelId) : translated.body, request.source);
    // undici holds a stream's body until the stream ends. A small Buffer.from() is a slice of the
    // shared 8 KB pool and would hold all of it, so a stream's body gets bytes of its own.
    const body = translated.stream ? ownBytes(text) : Buffer.from(text);
    let lastError: BedrockClaudeError | undefined;
    for (let attempt = 0; attempt <= maxRetries; attempt++) {
      if (attempt > 0 && lastError) {
        const backoff = random() * Math.min(capMs, baseMs * 2 ** (attempt - 1));
        const delayMs = Math.min(maxRetryAfterMs, Math.max(backoff, (lastError.retryAfter ?? 0) * 1000));
        options.onEvent?.({ type: 'retry', target, attempt, delayMs, error: lastError });
        await sleep(delayMs);
        if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      }
      const release = await slotFor(target, signal);
      let releaseLater = false;
      try {
        const { res, started } = await sendOnce(target, translated, body, signal, extraHeaders);
        if (res.statusCode !== 200) {
          lastError = await failFromResponse(res, target);
          if (!isRetryable(lastError)) throw lastError;
          continue;
        }
        // `...info` goes last in the results below: a literal that starts with a spread gets a new hidden class on every call in V8.
        const info = { target, attempts: attempt + 1, removals: translated.removals, headers: res.headers };
        if (!translated.stream) {
          const raw = Buffer.from(await withTimeout(res.body.arrayBuffer(), idleMs, res.body));
          const ttfbMs = performance.now() - started;
          const json = parseUpstreamJson(raw);
          if (translated.operation === 'count-tokens') return { ttfbMs, kind: 'json', body: fromCountTokensResponse(json), usage: undefined, ...info };
          return { ttfbMs, kind: 'json', body: json, usage: json['usage'] as Usage | undefined, raw, ...info };
        }
        if (target.backend === 'mantle') {
          // Mantle is the native Messages API: its stream is already SSE.
          const summary = emptySummary();
          releaseLater = true;
          return { ttfbMs: performance.now() - started, kind: 'stream', summary, sse: mantleStream(res.body, summary, output, release), ...info };
        }
        // Read up to the first whole frame before answering, so an exception that arrives first is retried.
        const chunks = readChunks(res.body, idleMs);
        const splitter = new FrameSplitter();
        let firstFrames: EventFrame[] = [];
        try {
          for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
            // Only the first frame is decoded now: the rest of the chunk waits until it has gone out.
            firstFrames = splitter.push(next.value, 1);
            if (firstFrames.length) break;
          }
        } catch (err) {
          res.body.destroy();
          await chunks.return(undefined);
          throw err;
        }
        const ttfbMs = performance.now() - started;
        const head = firstFrames[0];
        if (head && frameHeader(head, ':message-type') !== 'event') {
          try {
            frameToSse(head, emptySummary());
          } catch (err) {
            res.body.destroy();
            await chunks.return(undefined);
            lastError = err as BedrockClaudeError;
            options.onEvent?.({ type: 'upstream_error', target, error: lastError });
            if (!isRetryable(lastError)) throw lastError;
            continue;
          }
        }
        const summary = emptySummary();
        releaseLater = true;
        return { ttfbMs, kind: 'stream', summary, sse: streamRest(firstFrames, splitter, chunks, summary, res.body, target, output, release), ...info };
      } catch (err) {
        if (signal?.aborted) throw err;
        lastError = networkError(err, target);
        if (err !== lastError) options.onEvent?.({ type: 'upstream_error', target, error: lastError });
        if (!isRetryable(lastError)) throw lastError;
      } finally {
        if (!releaseLater) release();
      }
    }
    throw lastError!;
  }

  /** The rest of a stream, a network chunk at a time: its whole frames as SSE (or passed through), then any error. */
  async function* streamRest(firstFrames: EventFrame[], splitter: FrameSplitter, chunks: ReturnType<typeof readChunks>, summary: StreamSummary, body: Dispatcher.ResponseData['body'], target: Target, output: StreamOutput, release: () => void): AsyncGenerator<Uint8Array> {
    const convert = (frames: EventFrame[]): { bytes: Uint8Array | undefined; error: BedrockClaudeError | undefined } => {
      if (output === 'sse') return framesToSse(frames, summary);
      const raw: Uint8Array[] = [];
      for (const frame of frames) {
        try {
          observeFrame(frame, summary);
        } catch (err) {
          if (!(err instanceof BedrockClaudeError)) throw err;
          summary.error = { type: err.type, message: err.message };
        }
        raw.push(frame.raw!); // exception frames pass through as Bedrock sent them
      }
      return { bytes: raw.length ? Buffer.concat(raw) : undefined, error: undefined };
    };
    try {
      // The first event goes out on its own, so a big first network chunk does not delay the first byte;
      // then the frames still buffered from that chunk, then a network chunk at a time.
      // Nothing from a chunk is left in a variable while waiting for the next: a generator keeps its
      // variables (stale ones too) while suspended, and a stream can sit idle for minutes.
      let pending: EventFrame[] | undefined = firstFrames;
      firstFrames = NO_FRAMES;
      let out: ReturnType<typeof convert> | undefined;
      for (;;) {
        out = convert(pending);
        pending = undefined;
        if (out.bytes) yield out.bytes;
        if (out.error) throw out.error;
        out = undefined;
        pending = splitter.push(NO_BYTES);
        if (pending.length) continue;
        pending = await nextFrames(chunks, splitter);
        if (!pending) break;
      }
      splitter.end();
    } catch (err) {
      const e = networkError(err, target);
      summary.error = { type: e.type, message: e.message };
      options.onEvent?.({ type: 'upstream_error', target, error: e });
      yield output === 'sse' ? sseError(e.type, e.message) : exceptionFrameFor(e);
    } finally {
      release();
      if (!body.destroyed) body.destroy();
      await chunks.return(undefined);
    }
  }

  async function* mantleStream(body: Dispatcher.ResponseData['body'], summary: StreamSummary, output: StreamOutput, release: () => void): AsyncGenerator<Uint8Array> {
    try {
      yield* sseThrough(readChunks(body, idleMs), summary, output, encodeChunkFrame);
    } finally {
      release();
      if (!body.destroyed) body.destroy();
    }
  }

  return {
    dispatcher,
    /**
     * Sends an Anthropic Messages (or count_tokens) request to the first healthy target, with
     * retries and failover. Throws a `BedrockClaudeError` when every target failed.
     */
    async messages(
      request: AnthropicHttpRequest,
      targets: readonly Target[],
      opts: {
        signal?: AbortSignal | AbortLike | undefined;
        headers?: Record<string, string>;
        output?: StreamOutput;
        policy?: SanitizePolicy | undefined;
        /** The translation for `targets[0]`, when the caller already made it (the gateway does, for preflight). */
        firstTranslated?: BedrockHttpRequest | undefined;
      } = {},
    ): Promise<MessagesResult> {
      if (!targets.length) throw new BedrockClaudeError('No upstream target configured for this model.', { status: 500, type: 'api_error' });
      let lastError: BedrockClaudeError | undefined;
      let previous: Target | undefined;
      for (const target of targets) {
        const key = targetKey(target);
        if (options.breaker && !options.breaker.allow(key)) {
          options.onEvent?.({ type: 'circuit_open', target });
          continue;
        }
        if (previous && lastError) options.onEvent?.({ type: 'failover', from: previous, to: target, error: lastError });
        try {
          const result = await attemptTarget(request, target, opts.signal, opts.headers ?? {}, opts.output ?? 'sse', opts.policy, target === targets[0] ? opts.firstTranslated : undefined);
          options.breaker?.success(key);
          return result;
        } catch (err) {
          if (!(err instanceof BedrockClaudeError) || !isRetryable(err)) throw err;
          options.breaker?.failure(key);
          lastError = err;
          previous = target;
        }
      }
      throw lastError ?? new BedrockClaudeError('Every upstream target is cooling down after repeated failures.', { status: 529, type: 'overloaded_error', retryAfter: 5 });
    },
    close(): Promise<void> {
      return options.dispatcher ? Promise.resolve() : dispatcher.close();
    },
  };
}

export type Transport = ReturnType<typeof createTransport>;
