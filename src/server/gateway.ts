import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Server } from 'node:net';
import pino, { type Logger } from 'pino';
import { createCatalog, getDefaultCatalog, type Catalog, type CatalogOverrides } from '../catalog/catalog.js';
import { estimateCost } from '../catalog/estimate-cost.js';
import { systemInferenceProfiles } from '../catalog/inference-profiles.js';
import type { Scope } from '../catalog/resolve-model.js';
import { checkRequest } from '../check/check-request.js';
import type { BedrockAuth } from '../aws/credentials.js';
import { BedrockClaudeError, invalidRequest } from '../errors.js';
import { toAnthropicErrorBody, toBedrockError } from '../translate/errors.js';
import type { SanitizePolicy } from '../translate/sanitize.js';
import { fromBedrockBody, fromCountTokensBody, toBedrockRequest, type AnthropicHttpRequest } from '../translate/to-bedrock.js';
import { createCircuitBreaker } from '../transport/circuit-breaker.js';
import { Abort } from '../transport/abort.js';
import { createTransport, type MessagesResult, type StreamOutput, type Target } from '../transport/bedrock-transport.js';
import { createDualProtocolServer, dropResponse, isGone, listen, type AnyRequest, type AnyResponse } from './dual-protocol.js';
import { findKey, keyAllows, type GatewayKey } from './gateway-keys.js';
import { parseJsonObject, pipeStream, presentedKey, readBody, sendJson, sendJsonBytes } from './http-util.js';
import { createGatewayMetrics } from './metrics.js';
import { createRouter, type Route } from './targets.js';

export interface GatewayOptions {
  host?: string;
  port?: number;
  region: string;
  scope?: Scope;
  auth: BedrockAuth;
  /** Upstream base URL (emulator, VPC endpoint). Default: the regional Bedrock hosts. */
  endpoint?: string | undefined;
  /** Shown in `x-bedrock-claude-backend` and `/healthz`, e.g. `emulator`. */
  backendLabel?: string;
  keys?: GatewayKey[];
  /** Client model name → ordered targets (optionally `{ policy, targets }`). Other names resolve from the catalog. */
  routes?: Record<string, Route>;
  /** Regions to fail over to for catalog routes. */
  fallbackRegions?: string[] | undefined;
  policy?: SanitizePolicy;
  models?: CatalogOverrides | undefined;
  limits?: { bodyBytes?: number | undefined; firstByteMs?: number | undefined; idleMs?: number | undefined; headersTimeoutMs?: number | undefined; keepAliveMs?: number | undefined; upstreamConcurrency?: number | undefined; shutdownGraceMs?: number | undefined };
  retry?: { max?: number | undefined; baseMs?: number | undefined; capMs?: number | undefined };
  logger?: Logger;
}

export interface RunningGateway {
  url: string;
  port: number;
  server: Server;
  /** Stops taking requests, lets open ones finish up to `graceMs` (default `limits.shutdownGraceMs`, 10 s), then closes. */
  close(graceMs?: number): Promise<void>;
  /** Requests in flight. */
  inFlight(): number;
}

/** APIs of the Anthropic platform that Bedrock does not have, and what to use instead. */
const UNSUPPORTED: Array<[RegExp, string]> = [
  [/^\/v1\/messages\/batches/, 'Message Batches are not available on Amazon Bedrock. Use Bedrock batch inference (CreateModelInvocationJob) or send requests one by one.'],
  [/^\/v1\/files/, 'The Files API is not available on Amazon Bedrock. Send documents and images inline in the message.'],
  [/^\/v1\/skills/, 'The Skills API is not available on Amazon Bedrock.'],
  [/^\/v1\/complete/, 'The legacy Text Completions API is not available through this gateway. Use /v1/messages.'],
  [/^\/v1\/(organizations|admin)/, 'The Admin API is not available on Amazon Bedrock.'],
];
const BEDROCK_ROUTE = /^\/model\/([^/]+)\/(invoke|invoke-with-response-stream|count-tokens)$/;
const ACCOUNT = '000000000000';

type Front = 'anthropic' | 'bedrock';

interface Outcome {
  status: number;
  model?: string;
  target?: Target;
  usage?: { input_tokens: number; output_tokens: number };
  cost?: number;
  ttfbMs?: number;
  dropped?: string[];
  warnings?: string[];
  error?: string;
}

interface Call {
  req: AnyRequest;
  res: AnyResponse;
  requestId: string;
  key: GatewayKey | undefined;
  front: Front;
  headers: Record<string, string>;
}

/**
 * Starts the gateway: an Anthropic-format front (`/v1/messages`, `/v1/messages/count_tokens`,
 * `/v1/models`) and a Bedrock-format front (`/model/{id}/invoke`, `/invoke-with-response-stream`,
 * `/count-tokens`, `/inference-profiles`) in front of Bedrock, with gateway keys, preflight checks,
 * sanitising, routes with failover, metrics and one log line per request.
 *
 * @example
 * ```ts
 * const gw = await startGateway({ port: 0, region: 'us-west-2', auth: resolveBedrockAuth() });
 * // ANTHROPIC_BASE_URL=gw.url claude -p "hello"
 * ```
 */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const catalog: Catalog = options.models ? createCatalog(options.models) : getDefaultCatalog();
  // Log lines are buffered (a write per 4 KB, not per request) and flushed on close and on exit.
  const destination = options.logger ? undefined : pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const logger = options.logger ?? pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime }, destination);
  function flushLog(): void {
    try {
      destination?.flushSync();
    } catch {
      // not open yet, or already closed: nothing buffered to lose
    }
  }
  if (destination) {
    process.once('exit', () => flushLog());
    setInterval(() => destination.flush(), 1000).unref();
  }
  const metrics = createGatewayMetrics();
  const breaker = createCircuitBreaker();
  const policy = options.policy ?? 'drop';
  const scope = options.scope ?? 'global';
  const keys = options.keys ?? [];
  const limits = options.limits ?? {};
  const bodyLimit = limits.bodyBytes ?? 25_000_000;
  const router = createRouter({ catalog, region: options.region, scope, routes: options.routes, fallbackRegions: options.fallbackRegions });
  const transport = createTransport({
    auth: options.auth,
    endpoint: options.endpoint,
    catalog,
    policy,
    breaker,
    maxConcurrencyPerTarget: limits.upstreamConcurrency,
    timeouts: { firstByteMs: limits.firstByteMs ?? 60_000, idleMs: limits.idleMs ?? 120_000 },
    retry: options.retry,
    onEvent: metrics.onTransportEvent,
  });
  let draining = false;
  let inFlight = 0;
  const idle: Array<() => void> = [];

  function sendError(call: Pick<Call, 'res' | 'requestId' | 'front'>, err: BedrockClaudeError): void {
    const { res, requestId } = call;
    if (res.headersSent) {
      dropResponse(res);
      return;
    }
    const retry = err.retryAfter ?? (err.type === 'rate_limit_error' || err.type === 'overloaded_error' ? 1 : undefined);
    const extra: Record<string, string> = retry === undefined ? {} : { 'retry-after': String(retry) };
    if (call.front === 'bedrock') {
      const out = toBedrockError(err);
      sendJson(res, out.status, { message: err.fullMessage }, Object.assign({}, out.headers, { 'x-amzn-requestid': requestId, 'request-id': requestId }, extra));
    } else {
      sendJson(res, err.status, toAnthropicErrorBody(err, requestId), { 'request-id': requestId, ...extra });
    }
  }

  /**
   * The shared path of both fronts: route, preflight, send with failover, answer. Not an async
   * function on purpose: nothing here keeps `request` (the client's body, perhaps hundreds of KB)
   * alive while a stream runs for minutes; only `send` sees it, and it is done by the first byte.
   */
  function forward(call: Call, clientModel: string, request: AnthropicHttpRequest, output: StreamOutput): Promise<Outcome> {
    return send(call, clientModel, request, output).then((sent) => answer(call, clientModel, output, sent));
  }

  interface Sent {
    result: MessagesResult;
    headers: Record<string, string>;
    isCount: boolean;
    dropped: string[];
    warnings: string[];
    /** Stops listening for the client going away (which aborts the upstream request). */
    release: () => void;
  }

  async function send(call: Call, clientModel: string, request: AnthropicHttpRequest, output: StreamOutput): Promise<Sent> {
    if (!keyAllows(call.key, clientModel)) {
      throw new BedrockClaudeError(`The key "${call.key?.name}" may not call the model "${clientModel}".`, { status: 403, type: 'permission_error', fix: 'Ask the gateway operator to allow this model for your key.' });
    }
    const targets = router.targetsFor(clientModel);
    const routePolicy = router.policyFor(clientModel) ?? policy;
    const first = targets[0]!;
    const translated = toBedrockRequest(request, { modelId: first.modelId, model: first.model, catalog, policy: routePolicy });
    // Preflight what Bedrock will actually receive (after sanitising), for the first target.
    const isCount = translated.operation === 'count-tokens';
    const diagnostics = checkRequest({ format: 'bedrock', body: isCount ? fromCountTokensBody(translated.body) : translated.body, model: first.modelId, region: first.region, path: translated.operation, catalog });
    const error = diagnostics.find((d) => d.severity === 'error' && !(isCount && d.code === 'on-demand-not-supported'));
    if (error) throw invalidRequest(error.message, error.fix);
    const warnings = diagnostics.filter((d) => d.severity === 'warning').map((d) => d.code);
    const dropped = translated.removals.map((r) => r.name);
    // Object.assign, not `{ ...a, b }`: V8 gives that literal a new hidden class on every call (~1.3 us each, and garbage).
    const headers: Record<string, string> = Object.assign({}, call.headers, { 'x-bedrock-claude-model-id': first.modelId });
    if (dropped.length) headers['x-bedrock-claude-dropped'] = dropped.join(', ').slice(0, 2000);
    if (warnings.length) headers['x-bedrock-claude-warnings'] = warnings.join(', ');

    // The client going away aborts the upstream request.
    const gone = new Abort();
    const onClose = () => {
      if (!call.res.writableEnded) gone.abort(new Error('client closed the connection'));
    };
    call.res.on('close', onClose);
    const release = () => call.res.off('close', onClose);
    try {
      const result = await transport.messages(request, targets, { signal: gone, output, policy: routePolicy, firstTranslated: translated });
      return { result, headers, isCount, dropped, warnings, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  async function answer(call: Call, clientModel: string, output: StreamOutput, sent: Sent): Promise<Outcome> {
    const { result, headers, isCount, dropped, warnings } = sent;
    try {
      headers['x-bedrock-claude-model-id'] = result.target.modelId;
      const targetScope: Scope = result.target.modelId.startsWith('global.') ? 'global' : scope === 'global' ? 'geo' : scope;
      const costOf = (usage: { input_tokens: number; output_tokens: number } | undefined) => (usage && result.target.model ? estimateCost(usage, result.target.model, targetScope, catalog).usd : undefined);
      const base = { model: clientModel, target: result.target, ttfbMs: result.ttfbMs, dropped, warnings };
      if (result.kind === 'json') {
        // An answer goes back as the bytes Bedrock sent; a count-tokens answer is reshaped for the front.
        if (result.raw) sendJsonBytes(call.res, 200, result.raw, headers);
        else sendJson(call.res, 200, isCount && call.front === 'bedrock' ? { inputTokens: result.body['input_tokens'] } : result.body, headers);
        const usage = result.usage as { input_tokens: number; output_tokens: number } | undefined;
        const cost = costOf(usage);
        return { status: 200, ...base, ...(usage ? { usage } : {}), ...(cost !== undefined ? { cost } : {}) };
      }
      (call.res as ServerResponse).writeHead(200, output === 'sse' ? { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...headers } : { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-bedrock-content-type': 'application/json', 'x-amzn-requestid': call.requestId, ...headers });
      // No flushHeaders(): the headers go out with the first event (a separate header packet cost ~2 ms of TTFB).
      await pipeStream(call.res, result.sse);
      const usage = result.summary.usage;
      const cost = costOf(usage);
      return { status: 200, ...base, usage, ...(cost !== undefined ? { cost } : {}), ...(result.summary.error ? { error: result.summary.error.type } : {}), ...(isGone(call.res) && !call.res.writableFinished ? { error: 'client_closed' } : {}) };
    } finally {
      sent.release();
    }
  }

  async function anthropicFront(call: Call, pathname: string): Promise<Outcome> {
    const method = call.req.method;
    if (method === 'POST' && (pathname === '/v1/messages' || pathname === '/v1/messages/count_tokens')) {
      const source = parseJsonObject(await readBody(call.req, bodyLimit), 'Send {"model": ..., "max_tokens": ..., "messages": [...]}.');
      const body = source.value;
      const model = body['model'];
      if (typeof model !== 'string' || !model) throw invalidRequest('`model` is required and must be a string.', 'Set "model", e.g. "claude-sonnet-4-5".');
      return forward(call, model, { path: pathname, headers: { 'anthropic-beta': call.req.headers['anthropic-beta'] }, body, source }, 'sse');
    }
    if (method === 'GET' && pathname === '/v1/models') {
      const data = listModels();
      sendJson(call.res, 200, { data, has_more: false, first_id: data[0]?.['id'] ?? null, last_id: data[data.length - 1]?.['id'] ?? null }, call.headers);
      return { status: 200 };
    }
    const modelMatch = /^\/v1\/models\/([^/]+)$/.exec(pathname);
    if (method === 'GET' && modelMatch) {
      const wanted = decodeURIComponent(modelMatch[1]!);
      const entry = catalog.find(wanted);
      const listed = entry && listModels().find((m) => m['id'] === entry.name);
      if (!listed) throw new BedrockClaudeError(`Model "${wanted}" is not available in ${options.region}.`, { status: 404, type: 'not_found_error', fix: 'GET /v1/models lists what this gateway serves.' });
      sendJson(call.res, 200, listed, call.headers);
      return { status: 200 };
    }
    throw new BedrockClaudeError(`No route for ${method} ${pathname}.`, { status: 404, type: 'not_found_error', fix: 'This gateway serves POST /v1/messages, POST /v1/messages/count_tokens, GET /v1/models, and the Bedrock routes /model/{id}/invoke, /invoke-with-response-stream, /count-tokens.' });
  }

  async function bedrockFront(call: Call, pathname: string): Promise<Outcome> {
    if (call.req.method === 'GET' && pathname === '/inference-profiles') {
      const type = new URL(call.req.url ?? '/', 'http://x').searchParams.get('type') ?? 'SYSTEM_DEFINED';
      const summaries = type === 'APPLICATION' ? [] : systemInferenceProfiles(options.region, catalog, ACCOUNT);
      sendJson(call.res, 200, { inferenceProfileSummaries: summaries }, Object.assign({}, call.headers, { 'x-amzn-requestid': call.requestId }));
      return { status: 200 };
    }
    const m = BEDROCK_ROUTE.exec(pathname);
    if (!m || call.req.method !== 'POST') {
      const fix = /^\/model\/[^/]+\/converse(-stream)?$/.test(pathname)
        ? 'This gateway does not serve the Converse API: call InvokeModel (/model/{id}/invoke or /invoke-with-response-stream) with an Anthropic Messages body, or POST /v1/messages.'
        : 'This gateway serves the Bedrock routes POST /model/{id}/invoke, /invoke-with-response-stream and /count-tokens, and GET /inference-profiles.';
      throw new BedrockClaudeError(`No route for ${call.req.method} ${pathname}.`, { status: 404, type: 'not_found_error', bedrockType: 'UnknownOperationException', fix });
    }
    let modelId: string;
    try {
      modelId = decodeURIComponent(m[1]!);
    } catch {
      throw invalidRequest('The provided model identifier is invalid.');
    }
    const operation = m[2]!;
    const raw = parseJsonObject(await readBody(call.req, bodyLimit), 'Send the Bedrock InvokeModel body: {"anthropic_version": "bedrock-2023-05-31", "max_tokens": ..., "messages": [...]}.');
    const count = operation === 'count-tokens';
    const { body, headers } = fromBedrockBody(count ? fromCountTokensBody(raw.value) : raw.value, modelId, operation === 'invoke-with-response-stream');
    return forward(call, modelId, { path: count ? '/v1/messages/count_tokens' : '/v1/messages', headers, body, ...(count ? {} : { source: raw }) }, 'eventstream');
  }

  function listModels(): Array<Record<string, unknown>> {
    return catalog.models
      .filter((m) => {
        if (m.lifecycle.status === 'retired') return false;
        try {
          router.targetsFor(m.name);
          return true;
        } catch {
          return false;
        }
      })
      .map((m) => ({ type: 'model', id: m.name, display_name: m.displayName, created_at: `${m.releasedOn ?? '2025-01-01'}T00:00:00Z` }));
  }

  async function route(call: Call): Promise<Outcome> {
    const { req, res } = call;
    const pathname = (req.url ?? '/').split('?')[0]!;
    if ((req.method === 'GET' || req.method === 'HEAD') && (pathname === '/' || pathname === '/healthz' || pathname === '/readyz')) {
      const ready = pathname !== '/readyz' || (!draining && breaker.open().length === 0);
      sendJson(res, ready ? 200 : 503, { status: ready ? 'ok' : draining ? 'draining' : 'degraded', service: 'bedrock-claude gateway', backend: options.backendLabel ?? 'bedrock', region: options.region }, call.headers);
      return { status: ready ? 200 : 503 };
    }
    if (req.method === 'GET' && pathname === '/metrics') {
      const text = await metrics.registry.metrics();
      (res as ServerResponse).writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(text);
      return { status: 200 };
    }
    if (draining) throw new BedrockClaudeError('The gateway is shutting down.', { status: 529, type: 'overloaded_error', fix: 'Retry: another replica (or this one, restarted) will answer.', retryAfter: 1 });
    if (keys.length) {
      call.key = findKey(keys, presentedKey(req));
      if (!call.key) throw new BedrockClaudeError('Invalid or missing gateway key.', { status: 401, type: 'authentication_error', fix: 'Send your gateway key in x-api-key or Authorization: Bearer (ANTHROPIC_API_KEY / ANTHROPIC_AUTH_TOKEN for the SDKs and Claude Code).' });
    }
    for (const [re, message] of UNSUPPORTED) {
      if (re.test(pathname)) throw new BedrockClaudeError(message, { status: 404, type: 'not_found_error' });
    }
    return call.front === 'bedrock' ? bedrockFront(call, pathname) : anthropicFront(call, pathname);
  }

  const handler = (req: AnyRequest, res: AnyResponse) => {
    const requestId = `req_bc_${randomUUID().replace(/-/g, '')}`;
    const started = performance.now();
    const pathname = (req.url ?? '/').split('?')[0]!;
    const front: Front = pathname.startsWith('/model/') || pathname === '/inference-profiles' ? 'bedrock' : 'anthropic';
    const headers: Record<string, string> = { 'request-id': requestId };
    if (options.backendLabel) headers['x-bedrock-claude-backend'] = options.backendLabel;
    const call: Call = { req, res, requestId, key: undefined, front, headers };
    inFlight++;
    route(call)
      .catch((err: unknown): Outcome => {
        const e = err instanceof BedrockClaudeError ? err : new BedrockClaudeError('The gateway hit an unexpected error.', { status: 500, type: 'api_error', cause: err });
        const gone = isGone(res);
        if (!(err instanceof BedrockClaudeError) && !gone) logger.error({ requestId, err: (err as Error)?.message }, 'unexpected error');
        if (!gone) sendError(call, e);
        return { status: gone ? 499 : e.status, error: gone ? 'client_closed' : e.type };
      })
      .then((o) => {
        const latencyMs = performance.now() - started;
        metrics.observe(pathname, o.status, latencyMs, o.ttfbMs, o.usage, o.cost);
        if (pathname === '/healthz' || pathname === '/readyz' || pathname === '/metrics') return;
        logger.info({
          requestId,
          method: req.method,
          path: pathname,
          front,
          key: call.key?.name,
          status: o.status,
          model: o.model,
          bedrockModel: o.target?.modelId,
          region: o.target?.region,
          latencyMs: Math.round(latencyMs * 10) / 10,
          ttfbMs: o.ttfbMs === undefined ? undefined : Math.round(o.ttfbMs * 10) / 10,
          inputTokens: o.usage?.input_tokens,
          outputTokens: o.usage?.output_tokens,
          costUsd: o.cost,
          dropped: o.dropped?.length ? o.dropped : undefined,
          warnings: o.warnings?.length ? o.warnings : undefined,
          error: o.error,
        });
      })
      .finally(() => {
        inFlight--;
        if (inFlight === 0) for (const f of idle.splice(0)) f();
      });
  };
  const { server, http1, sockets } = createDualProtocolServer(handler, { requestTimeout: 0, headersTimeout: limits.headersTimeoutMs ?? 30_000, keepAliveTimeout: limits.keepAliveMs ?? 65_000 });
  // Requests node's parser refuses (oversized headers, bad framing) still get an answer in the Anthropic shape.
  http1.on('clientError', (err: NodeJS.ErrnoException, socket: import('node:stream').Duplex) => {
    if (!socket.writable) return socket.destroy();
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const status = tooLarge ? 431 : 400;
    const body = JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: tooLarge ? 'Request headers are too large.' : `Malformed HTTP request (${err.code ?? 'parse error'}).` } });
    socket.end(`HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    metrics.observe('other', status, 0, undefined, undefined, undefined);
  });
  const { port, url } = await listen(server, options.host ?? '127.0.0.1', options.port ?? 4000);
  return {
    url,
    port,
    server,
    inFlight: () => inFlight,
    async close(graceMs = limits.shutdownGraceMs ?? 10_000) {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      http1.closeIdleConnections();
      if (inFlight > 0) {
        await Promise.race([new Promise<void>((r) => idle.push(r)), new Promise<void>((r) => setTimeout(r, graceMs).unref())]);
      }
      for (const s of sockets) s.destroy();
      await closed;
      await transport.close();
      flushLog();
    },
  };
}
