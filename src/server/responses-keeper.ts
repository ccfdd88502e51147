import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ControlStore } from '../control/control-store.js';
import type { GatewayKey } from '../control/gateway-keys.js';
import { seal, unseal } from '../control/seal.js';

type Json = Record<string, unknown>;

/** A Responses API response as it is kept: the response object, the conversation that went in, its sealed thinking. */
export interface KeptResponse {
  response: Json;
  /** The input items, the earlier turns' (by `previous_response_id`) first. */
  input: Json[];
  /** Each reasoning item's signed thinking, by item id (the client sees it only when it asked to). */
  sealed: Record<string, string>;
}

/** The config's `responses`: whether `store: true` keeps responses, sealed with which keys, for how long. */
export interface ResponsesConfig {
  store?: boolean | undefined;
  /** Secrets that seal what is kept: the first seals, every one opens (rotation). The same on every replica. */
  keys?: string | string[] | undefined;
  retainDays?: number | undefined;
}

/** How long kept responses last when the config does not say: OpenAI's 30 days. */
export const DEFAULT_RESPONSE_DAYS = 30;
const PURPOSE = 'responses';

/** Keeps, finds and deletes stored responses, each its owner's alone. */
export interface ResponseKeeper {
  /** Why responses are not kept, when they are not (said in refusals). */
  readonly off: string | undefined;
  /** The start-up line's words. */
  readonly describe: string;
  keep(owner: string, kept: KeptResponse): Promise<void>;
  find(owner: string, id: string): Promise<KeptResponse | undefined>;
  remove(owner: string, id: string): Promise<boolean>;
  /** Says (and counts) a failure to keep one, which the answer itself survives. */
  failed(err: unknown): void;
  close(): void;
}

/** Whose a kept response is: the store key's id, the signed-in person (`oidc:<sub>`), the config key's name. */
export function ownerOf(key: GatewayKey | undefined): string {
  if (!key) return 'keyless';
  return key.id ?? `config:${key.name}`;
}

/** A keeper that keeps nothing, and says why. */
export function keepNothing(why: string): ResponseKeeper {
  return {
    off: why,
    describe: `responses: store: true keeps nothing (${why})`,
    keep: () => Promise.resolve(),
    find: () => Promise.resolve(undefined),
    remove: () => Promise.resolve(false),
    failed: () => undefined,
    close: () => undefined,
  };
}

/** The embedded store's sealing key: made once (random, mode 0600) in the data directory, read after. */
function dataDirKey(dataDir: string): { key: string; path: string } {
  const path = join(dataDir, 'responses.key');
  try {
    writeFileSync(path, `${randomBytes(32).toString('base64url')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return { key: readFileSync(path, 'utf8').trim(), path };
}

interface KeeperOptions {
  config: ResponsesConfig | undefined;
  store: ControlStore | undefined;
  /** The embedded store's directory (its key is made there when the config names none). */
  dataDir: string | undefined;
  /** Several replicas share the store (PostgreSQL): a key must come from the config. */
  shared: boolean;
  clock: () => number;
  onFailure(err: unknown): void;
}

function keysOf(options: KeeperOptions): { keys: string[]; from: string } | string {
  const given = options.config?.keys;
  if (given !== undefined) return { keys: Array.isArray(given) ? given : [given], from: 'responses.keys' };
  if (options.shared || !options.dataDir)
    return 'no responses.keys in the config: replicas sharing a store must seal with the same key';
  const { key, path } = dataDirKey(options.dataDir);
  return { keys: [key], from: path };
}

/**
 * The gateway's stored responses: in the control store, apart from the ledger, each sealed (AES-256-GCM) with a key
 * of the config (or, on the embedded store, one made in its data directory), kept `retainDays` (30) and deleted
 * after (at start-up and every hour). Off without a store, when the config says `store: false`, and on a shared
 * store without a key in the config.
 */
export function openResponseKeeper(options: KeeperOptions): ResponseKeeper {
  const { store, config, clock } = options;
  if (!store) return keepNothing('this gateway runs without a store (--no-store)');
  if (config?.store === false) return keepNothing('the operator turned it off: responses.store is false');
  const sealing = keysOf(options);
  if (typeof sealing === 'string') return keepNothing(sealing);
  const { keys } = sealing;
  const days = config?.retainDays ?? DEFAULT_RESPONSE_DAYS;
  const prune = () => void store.pruneKeptResponses(clock()).catch(options.onFailure);
  prune();
  const pruner = setInterval(prune, 3_600_000);
  pruner.unref();
  return {
    off: undefined,
    describe: `responses: store: true keeps them ${days} days, sealed with the key in ${sealing.from}`,
    async keep(owner, kept) {
      const now = clock();
      const sealed = seal(PURPOSE, keys, JSON.stringify(kept));
      const id = String(kept.response['id']);
      await store.keepResponse({ id, owner, created: now, expires: now + days * 86_400_000, sealed });
    },
    async find(owner, id) {
      if (id.length > 200) return undefined;
      const row = await store.keptResponse(id, owner, clock());
      if (!row) return undefined;
      const text = unseal(PURPOSE, keys, row.sealed);
      if (text === undefined) {
        // Sealed with a key the config no longer has: as good as gone, and the operator is told.
        options.onFailure(new Error(`kept response ${id} does not open with responses.keys (was its key removed?)`));
        return undefined;
      }
      return JSON.parse(text) as KeptResponse;
    },
    remove: (owner, id) => (id.length > 200 ? Promise.resolve(false) : store.deleteKeptResponse(id, owner)),
    failed: options.onFailure,
    close: () => clearInterval(pruner),
  };
}
