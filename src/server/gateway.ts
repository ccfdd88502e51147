import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import pino, { type Logger } from 'pino';
import { createCatalog, getDefaultCatalog, type Catalog, type CatalogOverrides } from '../catalog/catalog.js';
import { estimateCost } from '../catalog/estimate-cost.js';
import { resolveModel, type Scope } from '../catalog/resolve-model.js';
import { checkRequest } from '../check/check-request.js';
import type { BedrockAuth } from '../aws/credentials.js';
import { BedrockClaudeError, invalidRequest } from '../errors.js';
import { toAnthropicErrorBody } from '../translate/errors.js';
import type { SanitizePolicy } from '../translate/sanitize.js';
import { fromCountTokensBody, toBedrockRequest } from '../translate/to-bedrock.js';
import { createCircuitBreaker } from '../transport/circuit-breaker.js';
import { createTransport, type MessagesResult, type Target } from '../transport/bedrock-transport.js';
import { findKey, keyAllows, type GatewayKey } from './gateway-keys.js';
import { createGatewayMetrics } from './metrics.js';

export interface GatewayOptions {
  host?: string;
  port?: number;
  region: string;
  scope?: Scope;
  auth: BedrockAuth;
  /** Upstream base URL (emulator, VPC endpoint). Default: the regional Bedrock hosts. */
  endpoint?: string | undefined;
  /** Shown in `x-bedrock-claude-backend` and logs, e.g. `emulator`. */
  backendLabel?: string;
  keys?: GatewayKey[];
  /** Client model name → ordered targets. Other names resolve from the catalog. */
  routes?: Record<string, Array<Omit<Target, 'model'>>>;
  policy?: SanitizePolicy;
  models?: CatalogOverrides | undefined;
  limits?: { bodyBytes?: number | undefined; firstByteMs?: number | undefined; idleMs?: number | undefined };
  retry?: { max?: number | undefined; baseMs?: number | undefined; capMs?: number | undefined };
  logger?: Logger;
}

export interface RunningGateway {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/** APIs of the Anthropic platform that Bedrock does not have, and what to use instead. */
const UNSUPPORTED: Array<[RegExp, string]> = [
  [/^\/v1\/messages\/batches/, 'Message Batches are not available on Amazon Bedrock. Use Bedrock batch inference (CreateModelInvocationJob) or send requests one by one.'],
  [/^\/v1\/files/, 'The Files API is not available on Amazon Bedrock. Send documents and images inline in the message.'],
  [/^\/v1\/skills/, 'The Skills API is not available on Amazon Bedrock.'],
  [/^\/v1\/complete/, 'The legacy Text Completions API is not available through this gateway. Use /v1/messages.'],
  [/^\/v1\/(organizations|admin)/, 'The Admin API is not available on Amazon Bedrock.'],
];

function presentedKey(req: IncomingMessage): string | undefined {
  const k = req.headers['x-api-key'];
  if (typeof k === 'string' && k) return k;
  const auth = req.headers['authorization'];
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) return auth.slice(7).trim();
  return undefined;
}

/**
 * Starts the Anthropic-compatible gateway in front of Bedrock (or the emulator).
 *
 * @example
 * ```ts
 * const gw = await startGateway({ port: 0, region: 'us-west-2', auth: resolveBedrockAuth() });
 * // ANTHROPIC_BASE_URL=gw.url
 * ```
 */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const catalog: Catalog = options.models ? createCatalog(options.models) : getDefaultCatalog();
  const logger = options.logger ?? pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime });
  const metrics = createGatewayMetrics();
  const breaker = createCircuitBreaker();
  const policy = options.policy ?? 'drop';
  const scope = options.scope ?? 'global';
  const keys = options.keys ?? [];
  const bodyLimit = options.limits?.bodyBytes ?? 25_000_000;
  const transport = createTransport({
    auth: options.auth,
    endpoint: options.endpoint,
    catalog,
    policy,
    breaker,
    timeouts: { firstByteMs: options.limits?.firstByteMs ?? 60_000, idleMs: options.limits?.idleMs ?? 120_000 },
    retry: options.retry,
    onEvent: metrics.onTransportEvent,
  });

  function targetsFor(model: string): { targets: Target[]; scope: Scope } {
    const routed = options.routes?.[model];
    if (routed) {
      return { targets: routed.map((t) => ({ ...t, model: catalog.find(t.modelId.replace(/^[a-z-]+\.(?=anthropic\.)/, '')) })), scope };
    }
    const r = resolveModel(model, { region: options.region, scope, catalog });
    return { targets: [{ region: r.region, modelId: r.modelId, model: r.model }], scope: r.scope };
  }

  function sendError(res: ServerResponse, err: BedrockClaudeError, requestId: string): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = JSON.stringify(toAnthropicErrorBody(err, requestId));
    const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'request-id': requestId };
    if (err.retryAfter !== undefined) headers['retry-after'] = String(err.retryAfter);
    else if (err.type === 'rate_limit_error' || err.type === 'overloaded_error') headers['retry-after'] = '1';
    res.writeHead(err.status, headers);
    res.end(body);
  }

  function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string>): void {
    const body = JSON.stringify(value);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
    res.end(body);
  }

  async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > bodyLimit) throw new BedrockClaudeError(`Request body of ${declared} bytes is over the limit of ${bodyLimit} bytes.`, { status: 413, type: 'request_too_large', fix: 'Send a smaller request (Bedrock takes at most 25,000,000 bytes).' });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > bodyLimit) throw new BedrockClaudeError(`Request body is over the limit of ${bodyLimit} bytes.`, { status: 413, type: 'request_too_large', fix: 'Send a smaller request (Bedrock takes at most 25,000,000 bytes).' });
      chunks.push(chunk);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse((chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8'));
    } catch {
      throw invalidRequest('The request body is not valid JSON.', 'Send a JSON object with "model", "max_tokens" and "messages".');
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalidRequest('The request body must be a JSON object.', 'Send {"model": ..., "max_tokens": ..., "messages": [...]}.');
    return parsed as Record<string, unknown>;
  }

  interface Outcome {
    status: number;
    model?: string;
    target?: Target;
    usage?: { input_tokens: number; output_tokens: number };
    cost?: number;
    ttfbMs?: number;
    removals?: number;
    error?: string;
  }

  async function messages(req: IncomingMessage, res: ServerResponse, requestId: string, key: GatewayKey | undefined, path: string, baseHeaders: Record<string, string>): Promise<Outcome> {
    const body = await readJson(req);
    const model = body['model'];
    if (typeof model !== 'string' || !model) throw invalidRequest('`model` is required and must be a string.', 'Set "model", e.g. "claude-sonnet-4-5".');
    if (!keyAllows(key, model)) throw new BedrockClaudeError(`The key "${key?.name}" may not call the model "${model}".`, { status: 403, type: 'permission_error', fix: 'Ask the gateway operator to allow this model for your key.' });
    const { targets, scope: effectiveScope } = targetsFor(model);
    const first = targets[0]!;
    const headers = { 'anthropic-beta': req.headers['anthropic-beta'] };
    const request = { path, headers, body };
    const translated = toBedrockRequest(request, { modelId: first.modelId, model: first.model, catalog, policy });
    // Preflight what Bedrock will actually receive (after sanitising), for the first target.
    const isCount = translated.operation === 'count-tokens';
    const diagnostics = checkRequest({ format: 'bedrock', body: isCount ? fromCountTokensBody(translated.body) : translated.body, model: first.modelId, region: first.region, path: translated.operation, catalog });
    const errors = diagnostics.filter((d) => d.severity === 'error' && !(isCount && d.code === 'on-demand-not-supported'));
    if (errors.length) {
      const d = errors[0]!;
      throw invalidRequest(d.message, d.fix);
    }
    const outHeaders: Record<string, string> = { ...baseHeaders, 'x-bedrock-claude-model-id': first.modelId };
    if (translated.removals.length) {
      outHeaders['x-bedrock-claude-dropped'] = translated.removals.map((r) => r.name).join(', ').slice(0, 1000);
    }
    const warnings = diagnostics.filter((d) => d.severity === 'warning');
    if (warnings.length) outHeaders['x-bedrock-claude-warnings'] = warnings.map((w) => w.code).join(', ');

    const abort = new AbortController();
    const onClose = () => {
      if (!res.writableEnded) abort.abort(new Error('client closed the connection'));
    };
    res.on('close', onClose);
    let result: MessagesResult;
    try {
      result = await transport.messages(request, targets, { signal: abort.signal });
    } finally {
      if (abort.signal.aborted) res.off('close', onClose);
    }
    const costOf = (usage: { input_tokens: number; output_tokens: number } | undefined) =>
      usage && result.target.model ? estimateCost(usage, result.target.model, result.target.modelId.startsWith('global.') ? 'global' : effectiveScope, catalog).usd : undefined;

    if (result.kind === 'json') {
      sendJson(res, 200, result.body, outHeaders);
      res.off('close', onClose);
      const usage = result.usage as { input_tokens: number; output_tokens: number } | undefined;
      return { status: 200, model, target: result.target, ...(usage ? { usage } : {}), ...(costOf(usage) !== undefined ? { cost: costOf(usage)! } : {}), ttfbMs: result.ttfbMs, removals: translated.removals.length };
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...outHeaders });
    for await (const bytes of result.sse) {
      if (res.destroyed) break;
      if (!res.write(bytes)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
    }
    res.end();
    res.off('close', onClose);
    const usage = result.summary.usage;
    const cost = costOf(usage);
    return { status: 200, model, target: result.target, usage, ...(cost !== undefined ? { cost } : {}), ttfbMs: result.ttfbMs, removals: translated.removals.length, ...(result.summary.error ? { error: result.summary.error.type } : {}) };
  }

  function listModels(): Array<Record<string, unknown>> {
    return catalog.models
      .filter((m) => {
        try {
          resolveModel(m.name, { region: options.region, scope, catalog });
          return m.lifecycle.status !== 'retired';
        } catch {
          return false;
        }
      })
      .map((m) => ({ type: 'model', id: m.name, display_name: m.displayName, created_at: `${m.releasedOn ?? '2025-01-01'}T00:00:00Z` }));
  }

  async function route(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<Outcome> {
    const url = req.url ?? '/';
    const pathname = url.split('?')[0]!;
    const baseHeaders: Record<string, string> = { 'request-id': requestId };
    if (options.backendLabel) baseHeaders['x-bedrock-claude-backend'] = options.backendLabel;
    if ((req.method === 'GET' || req.method === 'HEAD') && (pathname === '/' || pathname === '/healthz' || pathname === '/readyz')) {
      const open = breaker.open();
      const ready = pathname !== '/readyz' || open.length === 0 || !!options.routes;
      sendJson(res, ready ? 200 : 503, { status: ready ? 'ok' : 'degraded', service: 'bedrock-claude gateway', backend: options.backendLabel ?? 'bedrock', region: options.region }, baseHeaders);
      return { status: ready ? 200 : 503 };
    }
    if (req.method === 'GET' && pathname === '/metrics') {
      const text = await metrics.registry.metrics();
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(text);
      return { status: 200 };
    }
    let key: GatewayKey | undefined;
    if (keys.length) {
      key = findKey(keys, presentedKey(req));
      if (!key) throw new BedrockClaudeError('Invalid or missing gateway key.', { status: 401, type: 'authentication_error', fix: 'Send your gateway key in x-api-key or Authorization: Bearer (ANTHROPIC_API_KEY / ANTHROPIC_AUTH_TOKEN for the SDKs and Claude Code).' });
    }
    for (const [re, message] of UNSUPPORTED) {
      if (re.test(pathname)) throw new BedrockClaudeError(message, { status: 404, type: 'not_found_error' });
    }
    if (req.method === 'POST' && (pathname === '/v1/messages' || pathname === '/v1/messages/count_tokens')) {
      return messages(req, res, requestId, key, pathname, baseHeaders);
    }
    if (req.method === 'GET' && pathname === '/v1/models') {
      const data = listModels();
      sendJson(res, 200, { data, has_more: false, first_id: data[0]?.['id'] ?? null, last_id: data[data.length - 1]?.['id'] ?? null }, baseHeaders);
      return { status: 200 };
    }
    const modelMatch = /^\/v1\/models\/([^/]+)$/.exec(pathname);
    if (req.method === 'GET' && modelMatch) {
      const wanted = decodeURIComponent(modelMatch[1]!);
      const entry = catalog.find(wanted);
      const listed = entry && listModels().find((m) => m['id'] === entry.name);
      if (!listed) throw new BedrockClaudeError(`Model "${wanted}" is not available in ${options.region}.`, { status: 404, type: 'not_found_error', fix: 'GET /v1/models lists what this gateway serves.' });
      sendJson(res, 200, listed, baseHeaders);
      return { status: 200 };
    }
    throw new BedrockClaudeError(`No route for ${req.method} ${pathname}.`, { status: 404, type: 'not_found_error', fix: 'This gateway serves POST /v1/messages, POST /v1/messages/count_tokens and GET /v1/models.' });
  }

  const server = createServer({ requestTimeout: 0, headersTimeout: 30_000, keepAliveTimeout: 65_000 }, (req, res) => {
    const requestId = `req_bc_${randomUUID().replace(/-/g, '')}`;
    const started = performance.now();
    route(req, res, requestId)
      .catch((err: unknown): Outcome => {
        const e = err instanceof BedrockClaudeError ? err : new BedrockClaudeError('The gateway hit an unexpected error.', { status: 500, type: 'api_error', cause: err });
        if (!(err instanceof BedrockClaudeError)) logger.error({ requestId, err: (err as Error)?.message }, 'unexpected error');
        sendError(res, e, requestId);
        return { status: e.status, error: e.type };
      })
      .then((o) => {
        const latencyMs = performance.now() - started;
        const path = (req.url ?? '/').split('?')[0]!;
        metrics.observe(path, o.status, latencyMs, o.ttfbMs, o.usage, o.cost);
        if (path === '/healthz' || path === '/readyz' || path === '/metrics') return;
        logger.info({
          requestId,
          method: req.method,
          path,
          status: o.status,
          model: o.model,
          bedrockModel: o.target?.modelId,
          region: o.target?.region,
          latencyMs: Math.round(latencyMs * 10) / 10,
          ttfbMs: o.ttfbMs === undefined ? undefined : Math.round(o.ttfbMs * 10) / 10,
          inputTokens: o.usage?.input_tokens,
          outputTokens: o.usage?.output_tokens,
          costUsd: o.cost,
          dropped: o.removals || undefined,
          error: o.error,
        });
      });
  });
  server.listen(options.port ?? 4000, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const host = options.host ?? '127.0.0.1';
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    server,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await transport.close();
    },
  };
}
