import type { Server } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { createCatalog, getDefaultCatalog, type Catalog, type CatalogOverrides } from '../catalog/catalog.js';
import type { Scope } from '../catalog/resolve-model.js';
import type { BedrockAuth } from '../aws/credentials.js';
import { createStaticKeyStore, type KeyStore } from '../control/key-store.js';
import { openControl, type BackgroundFailure, type Control } from './control-wiring.js';
import type { IdentityConfig } from '../identity/config.js';
import type { RouteGroup } from './pipeline.js';
import { signInFor } from '../identity/open-identity.js';
import { createCircuitBreaker, type CircuitBreaker } from '../transport/circuit-breaker.js';
import { createTransport, type Transport, type TransportOptions } from '../transport/bedrock-transport.js';
import type { SanitizePolicy } from '../translate/sanitize.js';
import { createGatewayApp, type GatewayApp } from './app.js';
import type { ImageFetchOptions } from './fetch-images.js';
import { createDualProtocolServer, listen } from './dual-protocol.js';
import { createModelFronts } from './fronts/model-fronts.js';
export { createModelFronts };
import { ConnectionGuard, DEFAULT_CONNECTIONS_PER_ADDRESS, defaultMaxConnections } from './connection-guard.js';
import type { GatewayKey } from '../control/gateway-keys.js';
import { createGatewayMetrics, type GatewayMetrics } from './metrics.js';
import { answerMalformed, nodeHandler } from './node-binding.js';
import { createRouter, type Route, type Router } from './targets.js';
import { ApplicationProfiles, bedrockProfileLookup } from './application-profiles.js';
import { createAdminGroup } from './fronts/admin.js';
import { createUiGroup } from './fronts/ui.js';
import { createLiveSink, targetsOf, type LiveSnapshot } from './live.js';
import type { UsageSink } from '../control/usage-record.js';
import { createAccessLogSink, gatewayLogger } from './usage.js';
import type { ResponsesConfig } from './responses-keeper.js';
import type { AlertsConfig } from './budget-alerts.js';
import { createKeptResponsesGroup } from './fronts/responses-kept.js';

export interface GatewayOptions {
  host?: string;
  port?: number;
  /**
   * Without keys, model calls are taken only with a loopback `Host` or one of these host names (`*`: any, as
   * `--insecure-no-auth` means), from no cross-site `Origin`, with a JSON body.
   */
  keylessHosts?: readonly string[] | undefined;
  /** The URL clients reach the gateway at (sign-in builds its issuer, endpoints and redirect URI from it). */
  publicUrl?: string | undefined;
  /** Sign-in with the company's identity provider (Claude Code's gateway login); needs the control plane's store. */
  identity?: IdentityConfig | undefined;
  region: string;
  scope?: Scope;
  auth: BedrockAuth;
  /** Upstream base URL (emulator, VPC endpoint). Default: the regional Bedrock hosts. */
  endpoint?: string | undefined;
  /** Shown in `x-bedrock-claude-backend` and `/healthz`, e.g. `emulator`. */
  backendLabel?: string;
  keys?: GatewayKey[];
  /** Where keys are looked up, instead of `keys` (a store shared by replicas). */
  keyStore?: KeyStore;
  /** More places each request's usage record goes, after metrics and the access log. */
  sinks?: UsageSink[];
  /**
   * The control plane's data directory (keys, teams, the ledger in SQLite). Without it, keys come
   * from `keys` alone and nothing is kept. A directory that cannot be used is said in the log and
   * in `/readyz`; the gateway still serves its config keys.
   */
  dataDir?: string | undefined;
  /**
   * PostgreSQL (`postgres://...`) for keys, teams and the ledger, shared by several replicas, instead of the embedded
   * store.
   */
  databaseUrl?: string | undefined;
  /**
   * Redis for rate limits, concurrency and budget reservations, shared by several replicas; `failMode` says what an
   * outage does (default `open`).
   */
  counters?: { url: string; failMode?: 'closed' | 'open' | undefined; prefix?: string | undefined } | undefined;
  /** The admin API's key (or `sha256:<hex>` of it); without it, and a data directory, `/admin/...` is 404. */
  adminKey?: string | undefined;
  /** More admin keys, each with a name the audit log shows (`admin-key:<id>`); `write: false` may only read. */
  adminKeys?: Array<{ id: string; key: string; write?: boolean | undefined }> | undefined;
  /** How long the ledger keeps its rows (default: for ever). */
  ledger?: { retainDays?: number | undefined } | undefined;
  /** Whether `store: true` keeps Responses API responses, sealed with which keys, for how long (default 30 days). */
  responses?: ResponsesConfig | undefined;
  /** Budget alerts: thresholds (default 50, 80, 100%) and webhooks. */
  alerts?: AlertsConfig | undefined;
  /** The time zone budgets reset in, at calendar boundaries (default UTC). */
  timeZone?: string | undefined;
  /** Client model name → ordered targets (optionally `{ policy, targets }`). Other names resolve from the catalog. */
  routes?: Record<string, Route>;
  /** Regions to fail over to for catalog routes. */
  fallbackRegions?: string[] | undefined;
  /**
   * Application inference profile ARN → the system profile or model ID it was made from (its model and reach). Others
   * are asked of Bedrock (`bedrock:GetInferenceProfile`) when first called.
   */
  applicationProfiles?: Record<string, string> | undefined;
  policy?: SanitizePolicy;
  models?: CatalogOverrides | undefined;
  limits?: {
    bodyBytes?: number | undefined;
    firstByteMs?: number | undefined;
    idleMs?: number | undefined;
    headersTimeoutMs?: number | undefined;
    keepAliveMs?: number | undefined;
    /** How long a request body may go without a byte before it is answered 408 (default 30 s). */
    bodyIdleMs?: number | undefined;
    /** Open client connections in all (default: from the process's open-file limit, at most 10,000). */
    maxConnections?: number | undefined;
    /** Open client connections from one address (default 1,000; 0: no such cap). */
    maxConnectionsPerAddress?: number | undefined;
    /** `event: ping` after this much silence on an Anthropic-format stream (default 10 s; 0: none). */
    pingMs?: number | undefined;
    upstreamConcurrency?: number | undefined;
    shutdownGraceMs?: number | undefined;
  };
  retry?: { max?: number | undefined; baseMs?: number | undefined; capMs?: number | undefined };
  /**
   * Fetch `image_url` web addresses on the OpenAI front (public addresses only, up to `maxBytes`); refused when absent.
   */
  fetchImages?: ImageFetchOptions | undefined;
  logger?: Logger;
  /** Wall-clock ms since the epoch (default `Date.now`): budgets, the ledger's times, the admin API. Tests drive it. */
  clock?: () => number;
  /** Monotonic ms (default `performance.now`): latencies and timeouts. */
  now?: () => number;
}

export interface RunningGateway {
  url: string;
  port: number;
  server: Server;
  /** The app behind the port, to call in process. */
  app: GatewayApp;
  /**
   * Stops taking requests, lets open ones finish up to `graceMs` (default `limits.shutdownGraceMs`, 10 s), then closes.
   */
  close(graceMs?: number): Promise<void>;
  /** Requests in flight. */
  inFlight(): number;
  /** What the control plane runs on, in words (the start-up line). */
  control: string;
  /** Whether and how Responses API responses are kept, in words (a start-up line). */
  responses: string;
  /** Writes what the ledger holds now; resolves once it is stored (tests await this instead of sleeping). */
  flushLedger(): Promise<void>;
}

/** The transport to Bedrock (or the endpoint given), with the gateway's breaker, timeouts, retries and clock. */
function gatewayTransport(
  options: GatewayOptions,
  parts: { catalog: Catalog; breaker: CircuitBreaker; onEvent: TransportOptions['onEvent']; now: () => number },
) {
  const limits = options.limits ?? {};
  return createTransport({
    auth: options.auth,
    endpoint: options.endpoint,
    catalog: parts.catalog,
    policy: options.policy,
    breaker: parts.breaker,
    maxConcurrencyPerTarget: limits.upstreamConcurrency,
    timeouts: { firstByteMs: limits.firstByteMs ?? 60_000, idleMs: limits.idleMs ?? 120_000 },
    retry: options.retry,
    onEvent: parts.onEvent,
    now: parts.now,
  });
}

/** The app on one port (HTTP/1.1 and h2c), counting requests in flight so that closing can wait for them. */
async function bind(app: GatewayApp, logger: Logger, options: GatewayOptions, metrics: GatewayMetrics) {
  const limits = options.limits ?? {};
  let inFlight = 0;
  const idle: Array<() => void> = [];
  const handler = nodeHandler(
    app.handle,
    logger,
    {
      started: () => void inFlight++,
      ended: () => {
        if (--inFlight === 0) for (const f of idle.splice(0)) f();
      },
    },
    limits.bodyIdleMs ?? 30_000,
  );
  const guard = new ConnectionGuard(
    {
      maxConnections: limits.maxConnections ?? defaultMaxConnections(),
      maxConnectionsPerAddress: limits.maxConnectionsPerAddress ?? DEFAULT_CONNECTIONS_PER_ADDRESS,
      headersTimeoutMs: limits.headersTimeoutMs ?? 30_000,
      keepAliveMs: limits.keepAliveMs ?? 65_000,
    },
    metrics.connection,
  );
  metrics.watchConnections(() => guard.size);
  const { server, http1, sockets } = createDualProtocolServer(
    handler,
    { requestTimeout: 0, keepAliveTimeout: limits.keepAliveMs ?? 65_000 },
    guard,
  );
  // Requests node's parser refuses (oversized headers, bad framing) still get an answer in the Anthropic shape.
  http1.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => metrics.record(answerMalformed(err, socket)));
  const { port, url } = await listen(server, options.host ?? '127.0.0.1', options.port ?? 4000);
  return {
    server,
    port,
    url,
    inFlight: () => inFlight,
    /** Stops taking connections, waits up to `graceMs` for the requests in flight, then cuts what is left. */
    async stop(graceMs: number) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      http1.closeIdleConnections();
      if (inFlight > 0) {
        const settled = new Promise<void>((r) => idle.push(r));
        await Promise.race([settled, new Promise<void>((r) => setTimeout(r, graceMs).unref())]);
      }
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

/** The route groups: sign-in's, the kept responses', the admin API's and the dashboard's (with an admin key). */
const routeGroups = (groups: RouteGroup[], control: Control): RouteGroup[] => [
  ...groups,
  createKeptResponsesGroup(control.keeper),
  ...(control.admin ? [createAdminGroup(control.admin), createUiGroup()] : []),
];

/** The app from the gateway's parts: its fronts, route groups, stages' dependencies and clock. */
function composeApp(
  options: GatewayOptions,
  parts: {
    catalog: Catalog;
    router: Router;
    transport: Transport;
    keys: KeyStore;
    sinks: UsageSink[];
    control: Control;
    /** Route groups besides the admin API's and the dashboard's (sign-in). */
    groups: RouteGroup[];
    logger: Logger;
    breaker: CircuitBreaker;
    metrics: GatewayMetrics;
    now: () => number;
    clock: () => number;
  },
): GatewayApp {
  const { catalog, router, transport, keys, sinks, control, logger, breaker, metrics, now, clock, groups } = parts;
  return createGatewayApp({
    catalog,
    router,
    upstream: transport,
    keys,
    sinks,
    enforcement: control.enforcement,
    fronts: createModelFronts({
      catalog,
      router,
      region: options.region,
      fetchImages: options.fetchImages,
      now,
      pingMs: options.limits?.pingMs,
      keeper: control.keeper,
    }),
    groups: routeGroups(groups, control),
    logger,
    region: options.region,
    scope: options.scope ?? 'global',
    policy: options.policy ?? 'drop',
    keyless: { hosts: (options.keylessHosts ?? []).map((h) => h.toLowerCase()) },
    bodyLimit: options.limits?.bodyBytes ?? 25_000_000,
    backendLabel: options.backendLabel,
    ops: {
      openCircuits: () => breaker.open(),
      problems: control.problems,
      warnings: control.warnings,
      metrics: async () => ({ contentType: metrics.registry.contentType, text: await metrics.registry.metrics() }),
    },
    now,
    clock,
    onFailure: (where, err) => {
      metrics.failure(where);
      logger.error(
        { err, where },
        `${where}: failed after the answer (counted in bedrock_claude_background_failures_total)`,
      );
    },
  });
}

/** The control plane with the gateway's log, clock, metrics and live view; failures after an answer counted. */
function gatewayControl(
  options: GatewayOptions,
  parts: { logger: Logger; catalog: Catalog; clock: () => number; metrics: GatewayMetrics; live: () => LiveSnapshot },
): Promise<Control> {
  const { logger, metrics } = parts;
  const onFailure = (where: BackgroundFailure, err: unknown) => {
    metrics.failure(where);
    logger.warn(
      { err, where },
      `${where}: failed after the answer (counted in bedrock_claude_background_failures_total)`,
    );
  };
  return openControl({
    dataDir: options.dataDir,
    databaseUrl: options.databaseUrl,
    counters: options.counters,
    configKeys: options.keys ?? [],
    logger,
    catalog: parts.catalog,
    timeZone: options.timeZone,
    adminKey: options.adminKey,
    adminKeys: options.adminKeys,
    retainDays: options.ledger?.retainDays,
    responses: options.responses,
    alerts: options.alerts,
    clock: parts.clock,
    onFailure,
    live: parts.live,
  });
}

/** Client model names to targets: routes, the catalog's answer per region and scope, application profiles. */
function gatewayRouter(options: GatewayOptions, catalog: Catalog, clock: () => number): Router {
  const { region, routes, fallbackRegions } = options;
  const profiles = new ApplicationProfiles(catalog, options.applicationProfiles, bedrockProfileLookup(options), clock);
  return createRouter({ catalog, region, scope: options.scope ?? 'global', routes, fallbackRegions, profiles });
}

/**
 * Starts the gateway: builds its parts (catalog, router, transport, metrics, log), composes the
 * app from them and binds it to one port that speaks HTTP/1.1 and h2c; drains and closes.
 *
 * @example
 * ```ts
 * const gw = await startGateway({ port: 0, region: 'us-west-2', auth: resolveBedrockAuth() });
 * // ANTHROPIC_BASE_URL=gw.url claude -p "hello"
 * ```
 */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const catalog = options.models ? createCatalog(options.models) : getDefaultCatalog();
  const { logger, flushLog } = gatewayLogger(options);
  // One clock for the whole gateway: tests drive it; budgets, the admin API, the journal, the live
  // view and the transport's timings all read it.
  const clock = options.clock ?? Date.now;
  const now = options.now ?? (() => performance.now());
  const metrics = createGatewayMetrics();
  const breaker = createCircuitBreaker({ now: clock });
  const live = createLiveSink(clock);
  let bound: Awaited<ReturnType<typeof bind>> | undefined;
  const liveSnapshot = (): LiveSnapshot =>
    Object.assign({ time: clock(), inFlight: bound?.inFlight() ?? 0 }, live.counts(), {
      recentErrors: live.errors(),
      targets: targetsOf(breaker),
    });
  const control = await gatewayControl(options, { logger, catalog, clock, metrics, live: liveSnapshot });
  metrics.watchControl(control.gauges);
  const router = gatewayRouter(options, catalog, clock);
  const transport = gatewayTransport(options, { catalog, breaker, onEvent: metrics.onTransportEvent, now });
  const signIn = await signInFor(options, {
    control,
    clock,
    keys: options.keyStore ?? control.keys ?? createStaticKeyStore(options.keys ?? []),
    warn: (fields, message) => logger.warn(fields, message),
  });
  const sinks = [metrics, createAccessLogSink(logger), live, ...control.sinks, ...(options.sinks ?? [])];
  const app = composeApp(options, {
    catalog,
    router,
    transport,
    keys: signIn.keys,
    sinks,
    control,
    logger,
    breaker,
    metrics,
    now,
    clock,
    groups: signIn.groups,
  });
  const b = (bound = await bind(app, logger, options, metrics));
  signIn.bound(b.url);
  return {
    url: b.url,
    port: b.port,
    server: b.server,
    app,
    inFlight: b.inFlight,
    control: control.describe,
    responses: control.keeper.describe,
    flushLedger: () => control.flushLedger(),
    async close(graceMs = options.limits?.shutdownGraceMs ?? 10_000) {
      app.drain();
      await b.stop(graceMs);
      signIn.close();
      await transport.close();
      await control.close();
      flushLog();
    },
  };
}
