import type { Dispatcher } from 'undici';
import type { Usage } from '../catalog/estimate-cost.js';
import { BedrockClaudeError } from '../errors.js';
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
import type { AbortLike } from './abort.js';
import { networkError, parseUpstreamJson } from './upstream-errors.js';
import type { MessagesResult, Target, TransportOptions } from './types.js';
import { mantleBytes, streamFrames } from './upstream-streams.js';
import { createWire, failFromResponse, sendOnce, targetKey, type Wire } from './wire.js';
import { ownBytes, readChunks, withTimeout } from './read-body.js';

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

const RETRYABLE_TYPES = new Set(['rate_limit_error', 'overloaded_error', 'api_error', 'timeout_error']);

function isRetryable(err: BedrockClaudeError): boolean {
  return RETRYABLE_TYPES.has(err.type);
}

/**
 * The body a Messages-API endpoint takes: the sanitised body with `model` (and `stream`) back, no `anthropic_version`.
 */
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

/** The translated body as bytes, serialised once for every attempt. */
function bodyBytes(request: AnthropicHttpRequest, translated: BedrockHttpRequest, target: Target): Buffer {
  // Members translation left alone keep the client's JSON text.
  const mantle = (target.backend ?? 'invoke') !== 'invoke';
  const text =
    translated.operation === 'count-tokens' && !mantle
      ? JSON.stringify(translated.body)
      : stringifyReusing(mantle ? mantleBody(translated, target.modelId) : translated.body, request.source);
  // undici holds a stream's body until the stream ends. A small Buffer.from() is a slice of the
  // shared 8 KB pool and would hold all of it, so a stream's body gets bytes of its own.
  return translated.stream ? ownBytes(text) : Buffer.from(text);
}

/**
 * What one attempt's answer is: a result (holding the target's slot while a stream is open), or an error to retry or
 * throw.
 */
type Answer = { result: MessagesResult; holdsSlot: boolean } | { error: BedrockClaudeError };

/**
 * The answer to one attempt, from its response: the JSON, the native stream, or an event stream read to its first
 * frame.
 */
async function answerOf(
  wire: Wire,
  sent: { res: Dispatcher.ResponseData; started: number },
  translated: BedrockHttpRequest,
  target: Target,
  attempt: number,
  release: () => void,
): Promise<Answer> {
  const { res, started } = sent;
  if (res.statusCode !== 200) return { error: await failFromResponse(wire, res, target) };
  // `...info` goes last in the results below: a literal that starts with a spread gets a new hidden class on every call
  // in V8.
  const info = { target, attempts: attempt + 1, removals: translated.removals, headers: res.headers };
  if (!translated.stream) {
    const raw = Buffer.from(await withTimeout(res.body.arrayBuffer(), wire.idleMs, res.body));
    const ttfbMs = wire.now() - started;
    const json = parseUpstreamJson(raw);
    if (translated.operation === 'count-tokens')
      return {
        holdsSlot: false,
        result: { ttfbMs, kind: 'json', body: fromCountTokensResponse(json), usage: undefined, ...info },
      };
    return {
      holdsSlot: false,
      result: { ttfbMs, kind: 'json', body: json, usage: json['usage'] as Usage | undefined, raw, ...info },
    };
  }
  if ((target.backend ?? 'invoke') !== 'invoke') {
    // The Messages-API endpoints' streams are already SSE.
    const bytes = mantleBytes(wire, res.body, target, release);
    return {
      holdsSlot: true,
      result: { ttfbMs: wire.now() - started, kind: 'stream', wire: 'anthropic-sse', bytes, ...info },
    };
  }
  // Read up to the first whole frame before answering, so an exception that arrives first is retried.
  const chunks = readChunks(res.body, wire.idleMs);
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
  const ttfbMs = wire.now() - started;
  const head = firstFrames[0];
  if (head && frameHeader(head, ':message-type') !== 'event') {
    try {
      frameToSse(head, emptySummary());
    } catch (err) {
      res.body.destroy();
      await chunks.return(undefined);
      wire.onEvent?.({ type: 'upstream_error', target, error: err as BedrockClaudeError });
      return { error: err as BedrockClaudeError };
    }
  }
  const frames = streamFrames(wire, firstFrames, splitter, chunks, res.body, target, release);
  return { holdsSlot: true, result: { ttfbMs, kind: 'stream', wire: 'bedrock-eventstream', frames, ...info } };
}

/** Waits before a retry: full jitter on exponential backoff, at least what Retry-After asked, at most the cap. */
async function backOff(
  wire: Wire,
  target: Target,
  attempt: number,
  lastError: BedrockClaudeError,
  signal: AbortLike | undefined,
) {
  const { baseMs, capMs, maxRetryAfterMs } = wire.retry;
  const backoff = wire.random() * Math.min(capMs, baseMs * 2 ** (attempt - 1));
  const delayMs = Math.min(maxRetryAfterMs, Math.max(backoff, (lastError.retryAfter ?? 0) * 1000));
  wire.onEvent?.({ type: 'retry', target, attempt, delayMs, error: lastError });
  await wire.sleep(delayMs);
  if (signal?.aborted) throw signal.reason ?? new Error('aborted');
}

/** One target, with retries. Returns the result or throws the last error. */
async function attemptTarget(
  wire: Wire,
  request: AnthropicHttpRequest,
  target: Target,
  call: { signal: AbortLike | undefined; headers: Record<string, string>; policy: SanitizePolicy | undefined },
  pretranslated: BedrockHttpRequest | undefined,
): Promise<MessagesResult> {
  const { signal } = call;
  const policy = call.policy ?? wire.options.policy;
  // bedrock-runtime's Messages API counts no tokens for the profile-only models: bedrock-mantle does, by bare ID.
  if (target.backend === 'messages' && target.model && request.path.split('?')[0]!.endsWith('/count_tokens')) {
    target = Object.assign({}, target, { backend: 'mantle' as const, modelId: target.model.bedrockId });
    pretranslated = undefined;
  }
  const translated =
    pretranslated ??
    toBedrockRequest(request, {
      modelId: target.modelId,
      model: target.model,
      catalog: wire.catalog,
      policy,
      backend: target.backend,
    });
  const body = bodyBytes(request, translated, target);
  let lastError: BedrockClaudeError | undefined;
  for (let attempt = 0; attempt <= wire.retry.max; attempt++) {
    if (attempt > 0 && lastError) await backOff(wire, target, attempt, lastError, signal);
    const release = await wire.slotFor(target, signal);
    let holdsSlot = false;
    try {
      const answer = await answerOf(
        wire,
        await sendOnce(wire, target, translated, body, signal, call.headers),
        translated,
        target,
        attempt,
        release,
      );
      if ('error' in answer) {
        lastError = answer.error;
        if (!isRetryable(lastError)) throw lastError;
        continue;
      }
      holdsSlot = answer.holdsSlot;
      return answer.result;
    } catch (err) {
      if (signal?.aborted) throw err;
      lastError = networkError(err, target);
      if (err !== lastError) wire.onEvent?.({ type: 'upstream_error', target, error: lastError });
      if (!isRetryable(lastError)) throw lastError;
    } finally {
      if (!holdsSlot) release();
    }
  }
  throw lastError!;
}

/** What a caller may add to a call: its abort signal, headers, a policy, and the first target's translation. */
export interface CallOptions {
  signal?: AbortSignal | AbortLike | undefined;
  headers?: Record<string, string>;
  policy?: SanitizePolicy | undefined;
  /** The translation for `targets[0]`, when the caller already made it (the gateway does, for preflight). */
  firstTranslated?: BedrockHttpRequest | undefined;
}

/** The targets in order, past any whose circuit is open: the first answer, or the last retryable error. */
async function sendToTargets(
  wire: Wire,
  request: AnthropicHttpRequest,
  targets: readonly Target[],
  opts: CallOptions,
): Promise<MessagesResult> {
  const { breaker, onEvent } = wire.options;
  if (!targets.length)
    throw new BedrockClaudeError('No upstream target configured for this model.', { status: 500, type: 'api_error' });
  const call = { signal: opts.signal, headers: opts.headers ?? {}, policy: opts.policy };
  let lastError: BedrockClaudeError | undefined;
  let previous: Target | undefined;
  for (const target of targets) {
    const key = targetKey(target);
    if (breaker && !breaker.allow(key)) {
      onEvent?.({ type: 'circuit_open', target });
      continue;
    }
    if (previous && lastError) onEvent?.({ type: 'failover', from: previous, to: target, error: lastError });
    try {
      const first = target === targets[0] ? opts.firstTranslated : undefined;
      const result = await attemptTarget(wire, request, target, call, first);
      breaker?.success(key);
      return result;
    } catch (err) {
      if (!(err instanceof BedrockClaudeError) || !isRetryable(err)) throw err;
      breaker?.failure(key);
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
 *   { path: '/v1/messages', body: { model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content:
 * 'Hi' }] } },
 *   [{ region: 'us-west-2', modelId: 'global.anthropic.claude-sonnet-4-5-20250929-v1:0' }],
 * );
 * ```
 */
export function createTransport(options: TransportOptions) {
  const wire = createWire(options);
  return {
    dispatcher: wire.dispatcher,
    /**
     * Sends an Anthropic Messages (or count_tokens) request to the first healthy target, with
     * retries and failover. Throws a `BedrockClaudeError` when every target failed.
     */
    messages: (request: AnthropicHttpRequest, targets: readonly Target[], opts: CallOptions = {}) =>
      sendToTargets(wire, request, targets, opts),
    close(): Promise<void> {
      return options.dispatcher ? Promise.resolve() : wire.dispatcher.close();
    },
  };
}

export type Transport = ReturnType<typeof createTransport>;
