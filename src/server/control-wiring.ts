import type { Logger } from 'pino';
import { createThreadedLedgerSink } from '../control/ledger-sink.js';
import type { KeyStore } from '../control/key-store.js';
import type { ControlStore } from '../control/control-store.js';
import { openSqliteControlStore } from '../control/sqlite-store.js';
import { openStoreKeyStore } from '../control/store-key-store.js';
import type { Catalog } from '../catalog/catalog.js';
import { createMemoryCounterStore } from '../control/counter-store.js';
import { hashKey, type GatewayKey } from './gateway-keys.js';
import type { AdminDeps } from './fronts/admin.js';
import type { EnforcementDeps } from './stages/limit-stages.js';
import type { UsageSink } from './usage.js';

/** The control plane a gateway runs with: its key store and ledger sink, and what is wrong with them. */
export interface Control {
  keys: KeyStore | undefined;
  enforcement: EnforcementDeps | undefined;
  admin: AdminDeps | undefined;
  sinks: UsageSink[];
  problems(): string[];
  close(): Promise<void>;
}

/** The admin key's hash: given as `sha256:<hex>` (as config files should hold it), or as the key itself. */
export function adminKeyHash(adminKey: string): string {
  const m = /^sha256:([0-9a-f]{64})$/i.exec(adminKey.trim());
  return m ? m[1]!.toLowerCase() : hashKey(adminKey.trim());
}

/**
 * Opens the embedded store in `dataDir`, if given: keys from it (and the config's), the ledger as a
 * sink. A store that cannot be opened or written is said loudly and in `/readyz`, never as a 500
 * on every request: the gateway goes on with the config's keys.
 */
export async function openControl(dataDir: string | undefined, configKeys: readonly GatewayKey[], logger: Logger, options: { catalog: Catalog; timeZone?: string | undefined; adminKey?: string | undefined; retainDays?: number | undefined }): Promise<Control> {
  const none: Control = { keys: undefined, enforcement: undefined, admin: undefined, sinks: [], problems: () => [], close: async () => undefined };
  if (!dataDir) return none;
  let store: ControlStore;
  let keys: Awaited<ReturnType<typeof openStoreKeyStore>>;
  try {
    store = openSqliteControlStore(dataDir);
    keys = await openStoreKeyStore(store, { configKeys, onError: (err) => logger.warn({ err: (err as Error).message }, 'keys: the store could not be read; the keys cached stay') });
  } catch (err) {
    const problem = `store: ${(err as Error).message}`;
    logger.error({ dataDir }, problem);
    return Object.assign({}, none, { problems: () => [problem] });
  }
  let ledgerProblem: string | undefined;
  const ledger = createThreadedLedgerSink(dataDir, {
    onError: (err, rows) => {
      ledgerProblem = `ledger: ${rows} rows wait to be written: ${(err as Error).message}`;
      logger.error({ dataDir }, ledgerProblem);
    },
  });
  // Retention: rows older than `retainDays` are deleted at start-up and every hour after.
  const retainDays = options.retainDays;
  const prune = () => {
    if (retainDays) store.prune(Date.now() - retainDays * 86_400_000).catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'ledger: retention could not prune'));
  };
  prune();
  const pruner = setInterval(prune, 3_600_000);
  pruner.unref();
  const enforcement: EnforcementDeps = {
    counters: createMemoryCounterStore(),
    team: (name) => keys.team(name),
    spentSince: (kind, id, since) => store.spentSince(kind, id, since),
    catalog: options.catalog,
    timeZone: options.timeZone ?? 'UTC',
    clock: Date.now,
  };
  const admin: AdminDeps | undefined = options.adminKey ? { store, adminKeySha256: adminKeyHash(options.adminKey), changed: () => keys.refresh(), clock: Date.now } : undefined;
  return {
    keys,
    enforcement,
    admin,
    sinks: [ledger],
    problems: () => (ledgerProblem && ledger.pending() > 0 ? [ledgerProblem] : []),
    async close() {
      clearInterval(pruner);
      keys.close();
      await ledger.close();
      await store.close();
    },
  };
}
