import { createRequire } from 'node:module';
import type * as Undici from 'undici';
import type { Dispatcher } from 'undici';
import { createBedrockSigner } from '../aws/signer.js';
import { endpointInfo, endpointUrl } from '../catalog/backends.js';
import { getDefaultCatalog } from '../catalog/catalog.js';
import type { BedrockClaudeError } from '../errors.js';
import { fromBedrockError } from '../translate/errors.js';
import type { BedrockHttpRequest } from '../translate/to-bedrock.js';
import { Abort, type AbortLike } from './abort.js';
import { oneShot, timeoutError } from './read-body.js';
import { createSemaphore } from './semaphore.js';
import type { Target, TransportEvent, TransportOptions } from './types.js';

// One transport's shared parts (its keep-alive pool, signers, per-target slots, clock and settings)
// and one signed request sent over them, up to its answer's headers.

// Only the parts used: undici's index also loads fetch (and with it Node's own bundled copy of
// undici), the cache, mocks and interceptors: ~8 MB of RSS at start-up.
const require = createRequire(import.meta.url);
const Agent: typeof Undici.Agent = require('undici/lib/dispatcher/agent.js');
const { request: undiciRequest } = require('undici/lib/api/index.js') as {
  request: (this: Dispatcher, options: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;
};

const ONE_SHOT_BYTES = 16 * 1024;

export function targetKey(t: Target): string {
  return `${t.region}/${t.modelId}/${t.backend ?? 'invoke'}`;
}

/** What every call of one transport shares: its pool, signers, slots, clock, timeouts and settings. */
export interface Wire {
  options: TransportOptions;
  catalog: ReturnType<typeof getDefaultCatalog>;
  dispatcher: Dispatcher;
  signerFor(region: string, service: string): ReturnType<typeof createBedrockSigner>;
  slotFor(t: Target, signal: AbortLike | undefined): Promise<() => void>;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  retry: { max: number; baseMs: number; capMs: number; maxRetryAfterMs: number };
  firstByteMs: number;
  idleMs: number;
  onEvent: ((event: TransportEvent) => void) | undefined;
}

export function createWire(options: TransportOptions): Wire {
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
  const semaphores = new Map<string, ReturnType<typeof createSemaphore>>();
  return {
    options,
    catalog: options.catalog ?? getDefaultCatalog(),
    dispatcher,
    signerFor(region, service) {
      const key = `${region}/${service}`;
      let s = signers.get(key);
      if (!s) signers.set(key, (s = createBedrockSigner({ region, auth: options.auth, service })));
      return s;
    },
    slotFor(t, signal) {
      const key = targetKey(t);
      let sem = semaphores.get(key);
      if (!sem) semaphores.set(key, (sem = createSemaphore(options.maxConcurrencyPerTarget ?? 0)));
      return sem.acquire(signal);
    },
    now: options.now ?? (() => performance.now()),
    sleep: options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))),
    random: options.random ?? Math.random,
    retry: {
      max: options.retry?.max ?? 2,
      baseMs: options.retry?.baseMs ?? 200,
      capMs: options.retry?.capMs ?? 5_000,
      maxRetryAfterMs: options.retry?.maxRetryAfterMs ?? 20_000,
    },
    firstByteMs: options.timeouts?.firstByteMs ?? 60_000,
    idleMs: options.timeouts?.idleMs ?? 120_000,
    onEvent: options.onEvent,
  };
}

/**
 * The signed request's URL, headers and SigV4 service for a target: InvokeModel's own path, or a Messages-API
 * endpoint's (`/anthropic/v1/messages` on bedrock-runtime and bedrock-mantle, `/v1/messages` on Claude Platform on
 * AWS) with the version and betas as headers.
 */
function requestFor(wire: Wire, target: Target, translated: BedrockHttpRequest, extraHeaders: Record<string, string>) {
  const backend = target.backend ?? 'invoke';
  const info = endpointInfo(backend, wire.catalog);
  const url = new URL(target.endpoint ?? wire.options.endpoint ?? endpointUrl(info, target.region));
  const prefix = url.pathname.replace(/\/+$/, '');
  const count = translated.operation === 'count-tokens';
  const headers: Record<string, string> = Object.assign({ 'content-type': 'application/json' }, extraHeaders);
  if (backend === 'invoke') {
    url.pathname = `${prefix}${translated.path}`;
    headers['accept'] = translated.stream ? 'application/vnd.amazon.eventstream' : 'application/json';
    if (translated.stream) headers['x-amzn-bedrock-accept'] = 'application/json';
    return { url, headers, service: info.service };
  }
  url.pathname = `${prefix}${info.basePath}/v1/messages${count ? '/count_tokens' : ''}`;
  headers['accept'] = translated.stream ? 'text/event-stream' : 'application/json';
  headers['anthropic-version'] = translated.apiVersion;
  if (translated.betas.length) headers['anthropic-beta'] = translated.betas.join(',');
  if (target.workspaceId) headers['anthropic-workspace-id'] = target.workspaceId;
  return { url, headers, service: info.service };
}

/** One signed request, up to its answer's headers (an exact first-byte timeout; the caller's abort reaches undici). */
export async function sendOnce(
  wire: Wire,
  target: Target,
  translated: BedrockHttpRequest,
  body: Buffer,
  signal: AbortLike | undefined,
  extraHeaders: Record<string, string>,
) {
  const { url, headers, service } = requestFor(wire, target, translated, extraHeaders);
  const signed = await wire.signerFor(target.region, service)({ method: 'POST', url, headers, body });
  const started = wire.now();
  // One abort channel into undici for the caller going away (a client disconnect) and for our exact
  // first-byte timeout. undici's own timeouts tick at about a second: a backstop.
  const abort = new Abort();
  const onCallerAbort = () => abort.abort(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
  if (signal?.aborted) onCallerAbort();
  else signal?.addEventListener('abort', onCallerAbort, { once: true });
  const timer = setTimeout(
    () => abort.abort(timeoutError('UND_ERR_HEADERS_TIMEOUT', wire.firstByteMs)),
    wire.firstByteMs,
  );
  try {
    // undici keeps a request's body until the answer ends: for a stream that is minutes of a big body per
    // open stream, so a big one goes as a one-shot iterable that lets go of the bytes once written.
    const once = translated.stream && body.length > ONE_SHOT_BYTES;
    const res = await undiciRequest.call(wire.dispatcher, {
      origin: url.origin,
      path: url.pathname + url.search,
      method: 'POST',
      headers: once ? Object.assign({}, signed, { 'content-length': String(body.length) }) : signed,
      body: once ? (oneShot(body) as unknown as Buffer) : body,
      headersTimeout: wire.firstByteMs + 1000,
      bodyTimeout: wire.idleMs + 1000,
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

export async function failFromResponse(
  wire: Wire,
  res: Dispatcher.ResponseData,
  target: Target,
): Promise<BedrockClaudeError> {
  const text = await res.body.text().catch(() => '');
  const retryAfterHeader = res.headers['retry-after'];
  const retryAfter =
    typeof retryAfterHeader === 'string' && /^\d+$/.test(retryAfterHeader) ? Number(retryAfterHeader) : undefined;
  const errType = res.headers['x-amzn-errortype'];
  const err = fromBedrockError(res.statusCode, typeof errType === 'string' ? errType : undefined, text, retryAfter);
  wire.onEvent?.({ type: 'upstream_error', target, error: err });
  return err;
}
