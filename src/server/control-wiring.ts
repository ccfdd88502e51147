import { homedir } from 'node:os';
import { weakAdminKey } from './fronts/admin-guard.js';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Catalog } from '../catalog/catalog.js';
import type { ControlStore } from '../control/control-store.js';
import { createMemoryCounterStore, type CounterStore } from '../control/counter-store.js';
import { createJournaledLedgerSink } from '../control/journal-ledger-sink.js';
import type { KeyStore } from '../control/key-store.js';
import { createLedgerWriterThread } from '../control/ledger-sink.js';
import type { FailMode } from '../control/redis-counters.js';
import { redactUrl } from '../control/redact-url.js';
import { openSqliteControlStore } from '../control/sqlite-store.js';
import { openStoreKeyStore, type CachedKeyStore } from '../control/store-key-store.js';
import type { AdminDeps } from './fronts/admin.js';
import { hashKey, type GatewayKey } from '../control/gateway-keys.js';
import type { EnforcementDeps } from './stages/limit-stages.js';
import type { UsageSink } from '../control/usage-record.js';
import type { LiveSnapshot } from './live.js';
import { keepNothing, openResponseKeeper, type ResponseKeeper, type ResponsesConfig } from './responses-keeper.js';
import { createBudgetAlerts, type AlertsConfig } from './budget-alerts.js';

/** The state of the control plane's servers, for `/metrics`. */
export interface ControlGauges {
  /** 1 when the store answers (the last ledger write went through), 0 when not; undefined without a store. */
  storeUp(): number | undefined;
  /** 1 when the shared counter store (Redis) answers, 0 when not; undefined when counters are in process. */
  countersUp(): number | undefined;
  /** Ledger rows not yet in the store. */
  ledgerPending(): number;
  /** Round trips to Redis so far. */
  counterRoundTrips(): number;
}

/** The control plane a gateway runs with: its key store and ledger sink, and what is wrong with them. */
export interface Control {
  keys: KeyStore | undefined;
  /** The store itself, when there is one (sign-in keeps its device grants there). */
  store?: ControlStore | undefined;
  enforcement: EnforcementDeps | undefined;
  admin: AdminDeps | undefined;
  sinks: UsageSink[];
  /** What keeps the gateway from serving (`/readyz` is 503). */
  problems(): string[];
  /** What is wrong while it still serves (`/readyz` says it, and stays 200). */
  warnings(): string[];
  gauges: ControlGauges;
  /** What the control plane runs on, for the start-up lines. */
  describe: string;
  /** Writes what the ledger holds now; resolves once it is in the store (or waits in the spool). */
  flushLedger(): Promise<void>;
  /** Where `store: true` keeps Responses API responses (nowhere without a store, and it says why). */
  keeper: ResponseKeeper;
  close(): Promise<void>;
}

/** Where a failure off the answer path happened: a fixed list, so a metric label's values are ours. */
/** Failures off the answer path: a settlement, a retention run, a usage sink, a request's finisher. */
export type BackgroundFailure = 'settle' | 'prune' | 'usage_sink' | 'finisher' | 'keep_response' | 'alert';

/** Where the control plane keeps things: the embedded store, or PostgreSQL and/or Redis for several replicas. */
export interface ControlOptions {
  /** The data directory: the embedded store, and with PostgreSQL the ledger's journal (spool). */
  dataDir?: string | undefined;
  /** PostgreSQL for keys, teams and the ledger, instead of the embedded store. */
  databaseUrl?: string | undefined;
  /** Redis for rate limits, concurrency and budget reservations, instead of this process's memory. */
  counters?: { url: string; failMode?: FailMode | undefined; prefix?: string | undefined } | undefined;
  configKeys: readonly GatewayKey[];
  logger: Logger;
  catalog: Catalog;
  timeZone?: string | undefined;
  adminKey?: string | undefined;
  adminKeys?: Array<{ id: string; key: string; write?: boolean | undefined }> | undefined;
  retainDays?: number | undefined;
  /** Whether and how Responses API responses are kept. */
  responses?: ResponsesConfig | undefined;
  /** Budget alerts: thresholds and webhooks. */
  alerts?: AlertsConfig | undefined;
  /** Wall-clock ms since the epoch: budgets, retention, the admin API, the ledger's journal. */
  clock: () => number;
  /** A failure off the answer path (a settlement, a retention run): counted and said by the caller. */
  onFailure(where: BackgroundFailure, err: unknown): void;
  /** This replica's traffic now, for the admin API's live view. */
  live?: (() => LiveSnapshot) | undefined;
}

/** The admin key's hash: given as `sha256:<hex>` (as config files should hold it), or as the key itself. */
export function adminKeyHash(adminKey: string): string {
  const m = /^sha256:([0-9a-f]{64})$/i.exec(adminKey.trim());
  return m ? m[1]!.toLowerCase() : hashKey(adminKey.trim());
}

async function openCounters(
  options: ControlOptions,
  problems: { counters?: string | undefined },
): Promise<{ counters: CounterStore; up(): number | undefined; trips(): number; close(): Promise<void> }> {
  const spec = options.counters;
  if (!spec)
    return { counters: createMemoryCounterStore(), up: () => undefined, trips: () => 0, close: async () => undefined };
  const { openRedisCounterStore, withFailMode } = await import('../control/redis-counters.js');
  const mode = spec.failMode ?? 'open';
  const where = redactUrl(spec.url);
  let said = false;
  const redis = await openRedisCounterStore(spec.url, {
    prefix: spec.prefix,
    onError: (err) => {
      // ioredis says it on every reconnect attempt: once per outage is enough.
      if (!said) options.logger.warn({ redis: where, err }, 'counters: Redis connection error');
      said = true;
    },
  });
  const counters = withFailMode(redis, mode, (err) => {
    if (err) {
      problems.counters =
        mode === 'closed'
          ? `counters: Redis at ${where} cannot be reached (${err.message}): failing closed, model calls get 529 ` +
            `until it is back`
          : `counters: Redis at ${where} cannot be reached (${err.message}): failing open, limits and budgets are ` +
            `counted by this replica alone until it is back`;
      options.logger.error({ redis: where }, problems.counters);
    } else {
      problems.counters = undefined;
      said = false;
      options.logger.warn({ redis: where }, 'counters: Redis is back: limits are shared again');
    }
  });
  if (!redis.ready())
    options.logger.warn({ redis: where }, `counters: Redis at ${where} does not answer yet (fail ${mode})`);
  return {
    counters,
    up: () => (counters.down() || !redis.ready() ? 0 : 1),
    trips: redis.roundTrips,
    close: redis.close,
  };
}

/** The control plane when there is none: config keys only, nothing kept. */
function noControl(problems: string[] = []): Control {
  return {
    keys: undefined,
    enforcement: undefined,
    admin: undefined,
    sinks: [],
    problems: () => problems,
    warnings: () => [],
    gauges: {
      storeUp: () => undefined,
      countersUp: () => undefined,
      ledgerPending: () => 0,
      counterRoundTrips: () => 0,
    },
    describe: 'no control plane (config keys only; nothing is kept)',
    flushLedger: async () => undefined,
    keeper: keepNothing('this gateway has no store: --no-store, or no data directory'),
    close: async () => undefined,
  };
}

/**
 * The store (PostgreSQL, or SQLite in the data directory) and its key cache. A store that cannot be opened stops
 * start-up (fail closed): serving on without it would serve every request without a key or a budget.
 */
async function openStore(options: ControlOptions): Promise<{ store: ControlStore; keys: CachedKeyStore }> {
  const { logger, configKeys } = options;
  const keyProblem = (err: unknown) =>
    logger.warn({ err }, 'keys: the store could not be read; the keys cached stay in use');
  if (options.databaseUrl) {
    const { openPostgresControlStore } = await import('../control/postgres-store.js');
    const store = await openPostgresControlStore(options.databaseUrl, {
      onError: (err) => logger.warn({ err }, 'store: PostgreSQL connection error'),
    });
    return { store, keys: await openStoreKeyStore(store, { configKeys, onError: keyProblem, now: options.clock }) };
  }
  try {
    const store = openSqliteControlStore(options.dataDir!);
    return { store, keys: await openStoreKeyStore(store, { configKeys, onError: keyProblem, now: options.clock }) };
  } catch (err) {
    throw Object.assign(new Error(`the control plane's store cannot be opened: ${(err as Error).message}`), {
      cause: err,
      fix:
        `Fix or restore ${options.dataDir} (control.db; a newer schema needs the release that wrote it), or point ` +
        '--data-dir at another directory. To serve without keys, budgets and the ledger, say so: --no-store.',
    });
  }
}

type Problems = { counters?: string | undefined; ledger?: string | undefined };
type LedgerSink = UsageSink & { pending(): number; drain(): Promise<void>; close(): Promise<void> };

/**
 * The ledger as a sink: each row appended to a journal file before its answer ends (a kill -9 loses
 * nothing the kernel has), then written in batches to PostgreSQL (spooled while it is away) or to
 * SQLite by a thread of its own. Journals a dead process left are written before the gateway serves,
 * so that budgets rebuilt from the ledger count them.
 */
async function openLedger(options: ControlOptions, store: ControlStore, problems: Problems, journalDir: string) {
  const { logger } = options;
  const writer = options.databaseUrl ? undefined : createLedgerWriterThread(options.dataDir!);
  const journal = createJournaledLedgerSink(writer ?? store, journalDir, {
    clock: options.clock,
    onProblem: (problem) => {
      problems.ledger = problem;
      if (problem) logger.error({ journal: journalDir }, problem);
      else logger.warn({ journal: journalDir }, 'ledger: the store is back; the rows that waited are written');
    },
  });
  await journal.drain();
  const ledger: LedgerSink = Object.assign({}, journal, {
    async close() {
      await journal.close();
      await writer?.close();
    },
  });
  return { ledger, storeUp: () => (journal.problem() ? 0 : 1) };
}

/** How long ledger rows are kept when the config does not say (0 keeps them for ever). */
export const DEFAULT_RETAIN_DAYS = 400;

/** Retention: rows older than `retainDays` are deleted at start-up and every hour after. Answers the stop. */
function startRetention(options: ControlOptions, store: ControlStore): () => void {
  const retainDays = options.retainDays ?? DEFAULT_RETAIN_DAYS;
  if (!retainDays) return () => undefined;
  const prune = () =>
    void store
      .prune(options.clock() - retainDays * 86_400_000)
      .catch((err: unknown) => options.onFailure('prune', err));
  prune();
  const pruner = setInterval(prune, 3_600_000);
  pruner.unref();
  return () => clearInterval(pruner);
}

/** Where `store: true` keeps Responses API responses: the control store, sealed, apart from the ledger. */
const keeperFor = (options: ControlOptions, store: ControlStore) =>
  openResponseKeeper({
    config: options.responses,
    store,
    dataDir: options.dataDir,
    shared: !!options.databaseUrl,
    clock: options.clock,
    onFailure: (err) => options.onFailure('keep_response', err),
  });

/** The start-up line's words for where the control plane keeps things. */
function describeControl(options: ControlOptions, store: ControlStore, spool: string): string {
  const storeName = options.databaseUrl
    ? `PostgreSQL (${store.where}), ledger spooled in ${spool} when it is away`
    : `the embedded store (SQLite) in ${options.dataDir}`;
  const countersName = options.counters
    ? `counters in Redis (fail ${options.counters.failMode ?? 'open'})`
    : 'counters in this process';
  return `control plane on ${storeName}, ${countersName}: keys, teams, budgets, the ledger`;
}

/** What the limits stage and the admin API are given of the control plane. */
function controlDeps(options: ControlOptions, store: ControlStore, keys: CachedKeyStore, counters: CounterStore) {
  const timeZone = options.timeZone ?? 'UTC';
  const enforcement: EnforcementDeps = {
    counters,
    team: (name) => keys.team(name),
    spentSince: (kind, id, since) => store.spentSince(kind, id, since),
    catalog: options.catalog,
    timeZone,
    clock: options.clock,
    onFailure: options.onFailure,
    alerts: createBudgetAlerts({
      config: options.alerts ?? {},
      store,
      clock: options.clock,
      onFailure: (err) => options.onFailure('alert', err),
    }),
  };
  const named = (options.adminKeys ?? []).map((k) => ({
    id: k.id,
    sha256: adminKeyHash(k.key),
    write: k.write ?? true,
  }));
  const admin: AdminDeps | undefined =
    options.adminKey || named.length
      ? {
          store,
          timeZone,
          adminKeySha256: options.adminKey ? adminKeyHash(options.adminKey) : undefined,
          namedKeys: named,
          changed: () => keys.refresh(),
          clock: options.clock,
          live: options.live,
        }
      : undefined;
  return { enforcement, admin };
}

/**
 * Opens the control plane: keys (the store's, and the config's) in a cache, the ledger as a sink,
 * counters for limits and budgets. On one gateway: the embedded store in `dataDir` (SQLite) and
 * counters in memory. For several replicas: PostgreSQL (`databaseUrl`) and Redis (`counters`), each
 * usable alone. A store that cannot be opened or reached at start-up is an error (fail closed: there
 * would be no keys and no budgets); once running, PostgreSQL's outages spool the ledger to the data
 * directory.
 */
export async function openControl(options: ControlOptions): Promise<Control> {
  const weak = [options.adminKey, ...(options.adminKeys ?? []).map((k) => k.key)]
    .map((k) => (k ? weakAdminKey(k) : undefined))
    .find(Boolean);
  if (weak)
    throw Object.assign(new Error(weak), {
      fix: 'Use a random key: BEDROCK_CLAUDE_ADMIN_KEY=$(openssl rand -hex 32), or give its hash as sha256:<hex>.',
    });
  if (!options.dataDir && !options.databaseUrl) return noControl();
  const { store, keys } = await openStore(options);
  const problems: Problems = {};
  // The ledger's journal lives in the data directory (with PostgreSQL, the CLI's default one when none is given).
  const spool = options.databaseUrl
    ? join(options.dataDir ?? join(homedir(), '.bedrock-claude'), 'ledger-spool')
    : join(options.dataDir!, 'ledger-journal');
  const counters = await openCounters(options, problems);
  const { ledger, storeUp } = await openLedger(options, store, problems, spool);
  const stopRetention = startRetention(options, store);
  const keeper = keeperFor(options, store);
  const { enforcement, admin } = controlDeps(options, store, keys, counters.counters);
  const failClosed = options.counters?.failMode === 'closed';
  const shared = !!options.databaseUrl;
  return {
    keys,
    store,
    enforcement,
    admin,
    sinks: [ledger],
    problems: () => [
      ...(failClosed && problems.counters ? [problems.counters] : []),
      ...(!shared && problems.ledger && ledger.pending() > 0 ? [problems.ledger] : []),
    ],
    warnings: () => [
      ...(!failClosed && problems.counters ? [problems.counters] : []),
      ...(shared && problems.ledger ? [problems.ledger] : []),
    ],
    gauges: {
      storeUp,
      countersUp: counters.up,
      ledgerPending: () => ledger.pending(),
      counterRoundTrips: counters.trips,
    },
    describe: describeControl(options, store, spool),
    flushLedger: () => ledger.drain(),
    keeper,
    async close() {
      stopRetention();
      keeper.close();
      keys.close();
      await ledger.close();
      await counters.close();
      await store.close();
    },
  };
}
