import { randomUUID } from 'node:crypto';
import type { KeylessPolicy } from './stages/keyless-guard.js';
import type { Logger } from 'pino';
import type { Catalog } from '../catalog/catalog.js';
import { estimateCost, type Usage } from '../catalog/estimate-cost.js';
import type { Scope } from '../catalog/resolve-model.js';
import type { KeyStore } from '../control/key-store.js';
import { BedrockClaudeError } from '../errors.js';
import { Abort } from '../transport/abort.js';
import type { Upstream } from '../transport/bedrock-transport.js';
import type { SanitizePolicy } from '../translate/sanitize.js';
import { describeRoutes, type Front, type RouteGroup } from './fronts/front.js';
import { createOpsGroup, type OpsDeps } from './fronts/ops.js';
import { compose, Ctx, type GatewayRequest, type Reply, type RequestHeaders } from './pipeline.js';
import { bodyTooLarge } from './http-util.js';
import { createRouteTable } from './route-table.js';
import { bodyLimit, decode, modelAccess, preflight, route, scopeOf, send } from './stages/call-stages.js';
import { dispatch, drain, errorShape, gatewayKey, recordUsage, requestId } from './stages/request-stages.js';
import { admission, type EnforcementDeps } from './stages/limit-stages.js';
import type { Router } from './targets.js';
import type { UsageSink } from '../control/usage-record.js';

/** Everything the app uses from outside, passed in: tests give their own clock, ids, upstream and stores. */
export interface GatewayDeps {
  catalog: Catalog;
  router: Router;
  /** Sends model calls: the transport (retries, failover), or a test's fake. */
  upstream: Upstream;
  keys: KeyStore;
  /** Where each request's usage record goes (metrics, the access log, ...). */
  sinks: UsageSink[];
  /** Rate limits, concurrency and budgets of keys and teams; without it, none are enforced. */
  enforcement?: EnforcementDeps | undefined;
  /** The dialects, in the order their routes are tried; the first also answers what no route serves. */
  fronts: readonly [Front, ...Front[]];
  /** Routes the gateway answers itself besides its probes (the admin API, the dashboard). */
  groups?: readonly RouteGroup[] | undefined;
  logger: Logger;
  region: string;
  scope: Scope;
  policy: SanitizePolicy;
  bodyLimit: number;
  backendLabel?: string | undefined;
  ops: Omit<OpsDeps, 'region' | 'backendLabel' | 'draining'>;
  /** Monotonic milliseconds (default `performance.now`). */
  now?: () => number;
  /** Wall-clock milliseconds since the epoch (default `Date.now`). */
  clock?: () => number;
  /** A new request id (default `req_bc_` and a random UUID's hex). */
  newId?: () => string;
  /** Who may make model calls when the gateway has no keys (default: loopback names only). */
  keyless?: KeylessPolicy | undefined;
  /**
   * A usage sink or a request's finisher failed after the answer (default: logged). It never changes what the
   * client received, and never skips the sinks and settlements after it.
   */
  onFailure?: ((where: 'usage_sink' | 'finisher', err: unknown) => void) | undefined;
}

/** An answer and what to call once it has been written (or abandoned): usage and the ledger. */
export interface Exchange {
  reply: Reply;
  /** Records the request; a promise when the answer's last bytes must wait for the record to be durable. */
  finish(clientGone: boolean): Promise<void> | undefined;
}

/** A reply read whole, for in-process calls. */
export interface InProcessResponse {
  status: number;
  headers: Record<string, string>;
  bytes: Buffer;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

/** The stages, composed once: the request stages, then (for a model call) the call stages and the send. */
function stages(
  deps: GatewayDeps,
  parts: {
    now: () => number;
    newId: () => string;
    draining: () => boolean;
    notFound: (ctx: Ctx) => BedrockClaudeError;
    onFailure: NonNullable<GatewayDeps['onFailure']>;
  },
) {
  const { catalog, scope } = deps;
  const costOf = (ctx: Ctx, usage: Usage): number | undefined => {
    const target = ctx.result?.target;
    if (!target?.model) return undefined;
    const tier = ctx.usage.serviceTier;
    return estimateCost(usage, target.model, scopeOf(target, scope), catalog, target.region, tier).usd;
  };
  const enforce = deps.enforcement;
  const call = compose(
    [
      bodyLimit(deps.bodyLimit),
      decode,
      modelAccess,
      route(deps.router, deps.policy),
      preflight(catalog),
      ...(enforce ? [admission(enforce)] : []),
    ],
    send(deps.upstream, scope),
  );
  return compose(
    [
      requestId(parts.newId, deps.backendLabel),
      recordUsage(deps.sinks, costOf, parts.now, (err) => parts.onFailure('usage_sink', err)),
      errorShape(deps.logger),
      drain(parts.draining),
      gatewayKey(deps.keys, deps.keyless),
    ],
    dispatch(call, parts.notFound),
  );
}

type InProcessInit = { method?: string; headers?: RequestHeaders; body?: string | Buffer; signal?: Abort };

/** Calls the app in process: the request from a path and a fetch-like init, the answer read whole. */
async function inProcess(
  handle: (req: GatewayRequest) => Promise<Exchange>,
  path: string,
  init: InProcessInit,
): Promise<InProcessResponse> {
  const headers: RequestHeaders = {};
  for (const [k, v] of Object.entries(init.headers ?? {})) headers[k.toLowerCase()] = v;
  const sentBytes = typeof init.body === 'string' ? Buffer.from(init.body) : (init.body ?? Buffer.alloc(0));
  const signal = init.signal ?? new Abort();
  const req: GatewayRequest = {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    url: path,
    headers,
    signal,
    body: (limit) => (sentBytes.length > limit ? Promise.reject(bodyTooLarge(limit)) : Promise.resolve(sentBytes)),
  };
  const { reply, finish } = await handle(req);
  const parts: Buffer[] = [];
  const body = reply.body;
  if (typeof body === 'string' || body instanceof Uint8Array) parts.push(Buffer.from(body));
  else if (body) for await (const chunk of body) parts.push(Buffer.from(chunk));
  await finish(signal.aborted);
  const bytes = Buffer.concat(parts);
  const text = bytes.toString('utf8');
  return { status: reply.status, headers: reply.headers, bytes, text, json: <T>() => JSON.parse(text) as T };
}

/**
 * The gateway as a function from a request to an answer, with no socket: fronts from a route table,
 * the stages composed once, the upstream and stores passed in. `startGateway` binds it to a port;
 * tests call `request()` in process, as Hono's `app.request()`.
 *
 * @example
 * ```ts
 * const app = createGatewayApp(deps);
 * const res = await app.request('/v1/messages', { method: 'POST', body: JSON.stringify({ model: 'claude-haiku-4-5',
 * max_tokens: 16, messages: [{ role: 'user', content: 'Hi' }] }) });
 * res.status; // 200
 * ```
 */
export function createGatewayApp(deps: GatewayDeps) {
  const now = deps.now ?? (() => performance.now());
  const clock = deps.clock ?? Date.now;
  const newId = deps.newId ?? (() => `req_bc_${randomUUID().replace(/-/g, '')}`);
  let draining = false;

  const ops = createOpsGroup(
    Object.assign(
      { region: deps.region, backendLabel: deps.backendLabel ?? 'bedrock', draining: () => draining },
      deps.ops,
    ),
  );
  const table = createRouteTable([ops, ...(deps.groups ?? []), ...deps.fronts], deps.fronts[0]);
  const served = deps.fronts.map(describeRoutes).join('; ');
  const notFound = (ctx: Ctx) =>
    new BedrockClaudeError(`No route for ${ctx.req.method} ${ctx.route.pathname}.`, {
      status: 404,
      type: 'not_found_error',
      fix: `This gateway serves ${served}.`,
    });

  const onFailure =
    deps.onFailure ??
    ((where: 'usage_sink' | 'finisher', err: unknown) => deps.logger.error({ err, where }, `${where} failed`));
  const chain = stages(deps, { now, newId, draining: () => draining, notFound, onFailure });

  /**
   * Answers a request. Not an async function on purpose: it keeps nothing of the request alive once `chain` is done
   * with it.
   */
  function handle(req: GatewayRequest): Promise<Exchange> {
    const pathname = req.url.split('?')[0]!;
    const ctx = new Ctx(req, table.match(req.method, pathname), now(), clock());
    return chain(ctx).then(() => ({
      reply: ctx.reply!,
      finish(clientGone: boolean) {
        ctx.clientGone = clientGone;
        // Each on its own: one that throws (a full disk under the journal) skips none of the others.
        for (const f of ctx.finishers) {
          try {
            f(ctx);
          } catch (err) {
            onFailure('finisher', err);
          }
        }
        return ctx.durable;
      },
    }));
  }

  return {
    handle,
    request: (path: string, init: InProcessInit = {}) => inProcess(handle, path, init),
    /** Stops taking model calls: they get 529 and `retry-after`, probes say `draining`. */
    drain() {
      draining = true;
    },
  };
}

export type GatewayApp = ReturnType<typeof createGatewayApp>;
