import { hashKey, type GatewayKey } from '../server/gateway-keys.js';
import type { KeyStore } from './key-store.js';
import { keyActive, type KeyRecord, type TeamRecord } from './records.js';
import type { ControlStore } from './sqlite-store.js';

/** A key the gateway can check a request against: the store's record, or a config key. */
export type KnownKey = GatewayKey & { record?: KeyRecord };

/**
 * The store's keys, and the config file's, in a cache of the gateway's own: no database read on
 * the request path. The store's change counter is polled (one indexed read a second), so a key
 * created, changed or revoked by the CLI takes effect within about a second, without a restart.
 */
export function createStoreKeyStore(store: Pick<ControlStore, 'listKeys' | 'listTeams' | 'changes'>, options: { configKeys?: readonly GatewayKey[]; pollMs?: number; now?: () => number } = {}): KeyStore & { team(name: string): TeamRecord | undefined; refresh(): void; close(): void } {
  const now = options.now ?? Date.now;
  let bySha = new Map<string, KnownKey>();
  // The keys seen lately, by what the client sent: a SHA-256 per request saved (cleared on every change).
  let recent = new Map<string, KnownKey>();
  let teams = new Map<string, TeamRecord>();
  let seen = -1;
  function refresh(): void {
    const changes = store.changes();
    if (changes === seen) return;
    seen = changes;
    const next = new Map<string, KnownKey>();
    for (const k of options.configKeys ?? []) next.set(k.sha256, k);
    for (const r of store.listKeys()) next.set(r.sha256, { name: r.name, sha256: r.sha256, models: r.models, id: r.id, user: r.user, team: r.team, limits: r.limits, budget: r.budget, record: r });
    bySha = next;
    recent = new Map();
    teams = new Map(store.listTeams().map((t) => [t.name, t]));
  }
  refresh();
  const timer = setInterval(() => {
    try {
      refresh();
    } catch {
      // the store is busy or gone for a moment: the cache stays as it was, the next poll tries again
    }
  }, options.pollMs ?? 1000);
  timer.unref();
  const none = Promise.resolve(undefined);
  return {
    enabled: () => bySha.size > 0,
    find(presented) {
      if (!presented) return none;
      let key = recent.get(presented);
      if (!key) {
        // A map lookup by hash: what its timing could tell is about the hash, not the secret.
        key = bySha.get(hashKey(presented));
        if (key) {
          if (recent.size >= 1000) recent.clear();
          recent.set(presented, key);
        }
      }
      if (!key || (key.record && !keyActive(key.record, now()))) return none;
      return Promise.resolve(key);
    },
    team: (name) => teams.get(name),
    refresh,
    close: () => clearInterval(timer),
  };
}
