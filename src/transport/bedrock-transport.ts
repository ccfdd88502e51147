import { createRequire } from 'node:module';
import type * as Undici from 'undici';
import type { Dispatcher } from 'undici';
import { getDefaultCatalog } from '../catalog/catalog.js';
import type { Usage } from '../catalog/estimate-cost.js';
import { bedrockEndpoint, createBedrockSigner } from '../aws/signer.js';
import { BedrockClaudeError } from '../errors.js';
import { fromBedrockError } from '../translate/errors.js';
import { FrameSplitter, frameHeader, type EventFrame } from '../translate/event-stream.js';
import { stringifyReusing } from '../translate/reuse-json.js';
import type { SanitizePolicy } from '../translate/sanitize.js';
import { emptySummary, frameToSse } from '../translate/to-sse.js';
import {
  fromCountTokensBody,
  fromCountTokensResponse,
  toBedrockRequest,
  type AnthropicHttpRequest,
  type BedrockHttpRequest,
} from '../translate/to-bedrock.js';
import { Abort, type AbortLike } from './abort.js';
import { networkError, parseUpstreamJson } from './upstream-errors.js';
import type { MessagesResult, Target, TransportOptions } from './types.js';
import { oneShot, ownBytes, readChunks, timeoutError, withTimeout, type UpstreamBody } from './read-body.js';
import { createSemaphore } from './semaphore.js';

export type { AbortLike };
export { networkError };
export type {
  MessagesResult,
  StreamResult,
  Target,
  TransportEvent,
  TransportOptions,
  Upstream,
  UpstreamStream,
} from './types.js';

// Only the parts used: undici's index also loads fetch (and with it Node's own bundled copy of
// undici), the cache, mocks and interceptors: ~8 MB of RSS at start-up.
const require = createRequire(import.meta.url);
const Agent: typeof Undici.Agent = require('undici/lib/dispatcher/agent.js');
const { request: undiciRequest } = require('undici/lib/api/index.js') as {
  request: (this: Dispatcher, options: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;
};

const NO_BYTES = new Uint8Array(0);
const NO_FRAMES: EventFrame[] = [];
const ONE_SHOT_BYTES = 16 * 1024;
const RETRYABLE_TYPES = new Set(['rate_limit_error', 'overloaded_error', 'api_error', 'timeout_error']);

function isRetryable(err: BedrockClaudeError): boolean {
  return RETRYABLE_TYPES.has(err.type);
}

function targetKey(t: Target): string {
  return `${t.region}/${t.modelId}/${t.backend ?? 'invoke'}`;
}

/** The frames the next network chunk completes, or undefined at the end of the body. */
async function nextFrames(
  chunks: AsyncIterator<Uint8Array>,
  splitter: FrameSplitter,
): Promise<EventFrame[] | undefined> {
  const next = await chunks.next();
  return next.done ? undefined : splitter.push(next.value);
}

/** The Messages body Mantle takes: the sanitised body with `model` (and `stream`) back, no `anthropic_version`. */
function mantleBody(translated: BedrockHttpRequest, modelId: string): Record<string, unknown> {
  const inner = translated.operation === 'count-tokens' ? fromCountTokensBody(translated.body) : translated.body;
  const { anthropic_version: _v, anthropic_beta: _b, max_tokens, ...rest } = inner;
  return {
    model: modelId,
    ...rest,
    ...(translated.operation === 'count-tokens' ? {} : { max_tokens }),
    ...(translated.stream ? { stream: true } : {}),
  };
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
  const dispatcher =
    options.dispatcher ??
    new Agent({
      keepAliveTimeout: 30_000,
      connections: null,
      connect: { timeout: options.timeouts?.connectMs ?? 10_000 },
    });
  const signers = new Map<string, ReturnType<typeof createBedrockSigner>>();
  const signerFor = (region: string, service: string) => {
    const key = `${region}/${service}`;
    let s = signers.get(key);
    if (!s) signers.set(key, (s = createBedrockSigner({ region, auth: options.auth, service })));
    return s;
  };
  const now = options.now ?? (() => performance.now());
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

  async function sendOnce(
    target: Target,
    translated: BedrockHttpRequest,
    body: Buffer,
    signal: AbortLike | undefined,
    extraHeaders: Record<string, string>,
  ) {
    const base =
      target.endpoint ??
      options.endpoint ??
      bedrockEndpoint(target.region, target.backend === 'mantle' ? 'mantle' : 'runtime');
    const url = new URL(base);
    const prefix = url.pathname.replace(/\/+$/, '');
    const mantle = target.backend === 'mantle';
    url.pathname = mantle
      ? `${prefix}/anthropic/v1/messages${translated.operation === 'count-tokens' ? '/count_tokens' : ''}`
      : `${prefix}${translated.path}`;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: translated.stream ? 'application/vnd.amazon.eventstream' : 'application/json',
      ...extraHeaders,
    };
    if (mantle && translated.betas.length) headers['anthropic-beta'] = translated.betas.join(',');
    if (mantle) headers['anthropic-version'] = '2023-06-01';
    if (translated.stream && mantle) headers['accept'] = 'text/event-stream';
    else if (translated.stream) headers['x-amzn-bedrock-accept'] = 'application/json';
    const signed = await signerFor(
      target.region,
      target.backend === 'mantle' ? 'bedrock-mantle' : 'bedrock',
    )({ method: 'POST', url, headers, body });
    const started = now();
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
      const res = await undiciRequest.call(dispatcher, {
        origin: url.origin,
        path: url.pathname + url.search,
        method: 'POST',
        headers: once ? Object.assign({}, signed, { 'content-length': String(body.length) }) : signed,
        body: once ? (oneShot(body) as unknown as Buffer) : body,
        headersTimeout: firstByteMs + 1000,
        bodyTimeout: idleMs + 1000,
        signal: abort,
      });
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
    const retryAfter =
      typeof retryAfterHeader === 'string' && /^\d+$/.test(retryAfterHeader) ? Number(retryAfterHeader) : undefined;
    const errType = res.headers['x-amzn-errortype'];
    const err = fromBedrockError(res.statusCode, typeof errType === 'string' ? errType : undefined, text, retryAfter);
    options.onEvent?.({ type: 'upstream_error', target, error: err });
    return err;
  }

  /** One target, with retries. Returns the result or throws the last error. */
  async function attemptTarget(
    request: AnthropicHttpRequest,
    target: Target,
    signal: AbortLike | undefined,
    extraHeaders: Record<string, string>,
    policy: SanitizePolicy | undefined,
    pretranslated: BedrockHttpRequest | undefined,
  ): Promise<MessagesResult> {
    const translated =
      pretranslated ??
      toBedrockRequest(request, {
        modelId: target.modelId,
        model: target.model,
        catalog,
        policy: policy ?? options.policy,
      });
    // Serialised once for every attempt; members translation left alone keep the client's JSON text.
    const mantle = target.backend === 'mantle';
    const text =
      translated.operation === 'count-tokens' && !mantle
        ? JSON.stringify(translated.body)
        : stringifyReusing(mantle ? mantleBody(translated, target.modelId) : translated.body, request.source);
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
          const ttfbMs = now() - started;
          const json = parseUpstreamJson(raw);
          if (translated.operation === 'count-tokens')
            return { ttfbMs, kind: 'json', body: fromCountTokensResponse(json), usage: undefined, ...info };
          return { ttfbMs, kind: 'json', body: json, usage: json['usage'] as Usage | undefined, raw, ...info };
        }
        if (target.backend === 'mantle') {
          // Mantle is the native Messages API: its stream is already SSE.
          releaseLater = true;
          return {
            ttfbMs: now() - started,
            kind: 'stream',
            wire: 'anthropic-sse',
            bytes: mantleBytes(res.body, target, release),
            ...info,
          };
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
        const ttfbMs = now() - started;
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
        releaseLater = true;
        return {
          ttfbMs,
          kind: 'stream',
          wire: 'bedrock-eventstream',
          frames: streamFrames(firstFrames, splitter, chunks, res.body, target, release),
          ...info,
        };
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

  /** A stream's frames, a network chunk at a time; a failure of the network or a timeout is thrown as a `BedrockClaudeError`. */
  async function* streamFrames(
    firstFrames: EventFrame[],
    splitter: FrameSplitter,
    chunks: ReturnType<typeof readChunks>,
    body: UpstreamBody,
    target: Target,
    release: () => void,
  ): AsyncGenerator<EventFrame[]> {
    try {
      // The first event goes out on its own, so a big first network chunk does not delay the first byte;
      // then the frames still buffered from that chunk, then a network chunk at a time.
      // Nothing from a chunk is left in a variable while waiting for the next: a generator keeps its
      // variables (stale ones too) while suspended, and a stream can sit idle for minutes.
      let pending: EventFrame[] | undefined = firstFrames;
      firstFrames = NO_FRAMES;
      for (;;) {
        reportExceptions(pending, target);
        yield pending;
        pending = splitter.push(NO_BYTES);
        if (pending.length) continue;
        pending = undefined;
        pending = await nextFrames(chunks, splitter);
        if (!pending) break;
      }
      splitter.end();
    } catch (err) {
      const e = networkError(err, target);
      options.onEvent?.({ type: 'upstream_error', target, error: e });
      throw e;
    } finally {
      release();
      if (!body.destroyed) body.destroy();
      await chunks.return(undefined);
    }
  }

  /** Bedrock's exception frames mid-stream count as upstream errors (the front passes them on). */
  function reportExceptions(frames: readonly EventFrame[], target: Target): void {
    if (!options.onEvent) return;
    for (const frame of frames) {
      if (frameHeader(frame, ':message-type') === 'event') continue;
      try {
        frameToSse(frame, emptySummary());
      } catch (err) {
        if (err instanceof BedrockClaudeError) options.onEvent({ type: 'upstream_error', target, error: err });
      }
    }
  }

  async function* mantleBytes(body: UpstreamBody, target: Target, release: () => void): AsyncGenerator<Uint8Array> {
    try {
      yield* readChunks(body, idleMs);
    } catch (err) {
      const e = networkError(err, target);
      options.onEvent?.({ type: 'upstream_error', target, error: e });
      throw e;
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
        policy?: SanitizePolicy | undefined;
        /** The translation for `targets[0]`, when the caller already made it (the gateway does, for preflight). */
        firstTranslated?: BedrockHttpRequest | undefined;
      } = {},
    ): Promise<MessagesResult> {
      if (!targets.length)
        throw new BedrockClaudeError('No upstream target configured for this model.', {
          status: 500,
          type: 'api_error',
        });
      let lastError: BedrockClaudeError | undefined;
      let previous: Target | undefined;
      for (const target of targets) {
        const key = targetKey(target);
        if (options.breaker && !options.breaker.allow(key)) {
          options.onEvent?.({ type: 'circuit_open', target });
          continue;
        }
        if (previous && lastError)
          options.onEvent?.({ type: 'failover', from: previous, to: target, error: lastError });
        try {
          const result = await attemptTarget(
            request,
            target,
            opts.signal,
            opts.headers ?? {},
            opts.policy,
            target === targets[0] ? opts.firstTranslated : undefined,
          );
          options.breaker?.success(key);
          return result;
        } catch (err) {
          if (!(err instanceof BedrockClaudeError) || !isRetryable(err)) throw err;
          options.breaker?.failure(key);
          lastError = err;
          previous = target;
        }
      }
      throw (
        lastError ??
        new BedrockClaudeError('Every upstream target is cooling down after repeated failures.', {
          status: 529,
          type: 'overloaded_error',
          retryAfter: 5,
        })
      );
    },
    close(): Promise<void> {
      return options.dispatcher ? Promise.resolve() : dispatcher.close();
    },
  };
}

export type Transport = ReturnType<typeof createTransport>;
