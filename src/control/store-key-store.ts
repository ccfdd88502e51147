import { hashKey, type GatewayKey } from './gateway-keys.js';
import type { ControlStore } from './control-store.js';
import type { KeyStore } from './key-store.js';
import { keyActive, type KeyRecord, type PersonRecord, type TeamRecord } from './records.js';

/** A key the gateway can check a request against: the store's record, or a config key. */
export type KnownKey = GatewayKey & {
  record?: KeyRecord;
  /** Found by the secret before a rotation: it works until this time (the overlap), then not. */
  graceUntil?: number;
};

export type CachedKeyStore = KeyStore & {
  team(name: string): TeamRecord | undefined;
  teams(): readonly TeamRecord[];
  person(subject: string): PersonRecord | undefined;
  generation(): number;
  /** Reads the store's keys and teams again if they changed (at once after this replica's own change). */
  refresh(): Promise<void>;
  close(): void;
};

/**
 * The store's keys, and the config file's, in a cache of the gateway's own: no database read on
 * the request path. The cache is read again when the store says something changed: at once where it
 * pushes changes (PostgreSQL's LISTEN/NOTIFY), and by polling its change counter (one indexed read
 * every `pollMs`), so a key changed or revoked on any replica, or by the CLI, takes effect everywhere within about a
 * second, without a restart. A key not in the cache makes it read the change counter before it is refused, so a key
 * is usable the moment it is created, wherever that was.
 */
export async function openStoreKeyStore(
  store: Pick<ControlStore, 'listKeys' | 'listTeams' | 'listPeople' | 'changes' | 'watch'>,
  options: {
    configKeys?: readonly GatewayKey[];
    pollMs?: number;
    now?: () => number;
    onError?: (err: unknown) => void;
  } = {},
): Promise<CachedKeyStore> {
  const now = options.now ?? Date.now;
  let known = await snapshot(store, options.configKeys ?? [], 0);
  // The keys seen lately, by what the client sent: a SHA-256 per request saved (cleared on every change).
  let recent = new Map<string, KnownKey>();
  async function load(force: boolean): Promise<void> {
    const changes = await store.changes();
    if (changes === known.changes && !force) return;
    known = await snapshot(store, options.configKeys ?? [], known.generation + 1);
    recent = new Map();
  }
  const refresh = oneAtATime((force: boolean) => load(force).catch((err: unknown) => options.onError?.(err)));
  store.watch?.(() => void refresh(true));
  const timer = setInterval(() => void refresh(false), options.pollMs ?? 1000);
  timer.unref();
  const none = Promise.resolve(undefined);
  const lookup = (presented: string): KnownKey | undefined => {
    let key = recent.get(presented);
    if (!key) {
      // A map lookup by hash: what its timing could tell is about the hash, not the secret.
      key = known.bySha.get(hashKey(presented));
      if (key) {
        if (recent.size >= 1000) recent.clear();
        recent.set(presented, key);
      }
    }
    return key;
  };
  const usable = (key: KnownKey | undefined) =>
    (key?.record && !keyActive(key.record, now())) || (key?.graceUntil !== undefined && now() >= key.graceUntil)
      ? undefined
      : key;
  return {
    enabled: () => known.bySha.size > 0,
    find(presented) {
      if (!presented) return none;
      const key = lookup(presented);
      if (key) return Promise.resolve(usable(key));
      // Not known: perhaps made a moment ago elsewhere (the CLI, another replica). The change counter is read once
      // (one read at a time, however many unknown keys arrive) and the cache with it if it changed; then look again.
      return refresh(false).then(() => usable(lookup(presented)));
    },
    team: (name) => known.teams.get(name),
    teams: () => known.teamList,
    person: (subject) => known.people.get(subject),
    generation: () => known.generation,
    refresh: () => refresh(true),
    close: () => clearInterval(timer),
  };
}

/** The store's keys, teams and people as the cache holds them, read at one change count. */
async function snapshot(
  store: Pick<ControlStore, 'listKeys' | 'listTeams' | 'listPeople' | 'changes'>,
  configKeys: readonly GatewayKey[],
  generation: number,
) {
  const changes = await store.changes();
  const [keys, teamList, people] = await Promise.all([store.listKeys(), store.listTeams(), store.listPeople()]);
  const teams = new Map(teamList.map((t) => [t.name, t]));
  return {
    changes,
    generation,
    bySha: knownKeys(configKeys, keys, teams),
    teamList,
    teams,
    // Only the people an admin set something for: the others take the config's defaults.
    people: new Map(people.filter(hasSettings).map((p) => [p.subject, p])),
  };
}

const hasSettings = (p: PersonRecord) =>
  p.models !== undefined || p.budget !== undefined || Object.values(p.limits).some((v) => v !== undefined);

/** The config's keys and the store's, by hash (a store key wins over a config key of the same hash). */
function knownKeys(
  configKeys: readonly GatewayKey[],
  records: readonly KeyRecord[],
  teams: ReadonlyMap<string, TeamRecord>,
): Map<string, KnownKey> {
  const next = new Map<string, KnownKey>();
  for (const k of configKeys) next.set(k.sha256, k);
  for (const r of records) {
    const { name, sha256, models, id, user, team, limits, budget } = r;
    const key: KnownKey = { name, sha256, models, id, user, team, limits, budget, record: r };
    // The team's allow-list binds its keys as well as their own.
    const teamModels = team ? teams.get(team)?.models : undefined;
    if (teamModels) key.teamModels = [{ whose: `team "${team}"`, models: teamModels }];
    next.set(r.sha256, key);
    // The secret before a rotation, while its overlap lasts: the same key, found by the old hash.
    if (r.previousSha256 && r.previousUntil !== undefined && !next.has(r.previousSha256))
      next.set(r.previousSha256, Object.assign({}, key, { graceUntil: r.previousUntil }));
  }
  return next;
}

/**
 * One read at a time; calls while one runs share the one queued after it (which sees their change).
 * A forced call queued behind an unforced one joins it: the queued read sees every change by then.
 */
function oneAtATime(read: (force: boolean) => Promise<void>): (force: boolean) => Promise<void> {
  let tail: Promise<void> = Promise.resolve();
  let queued: Promise<void> | undefined;
  return (force) => {
    if (queued) return queued;
    const next = tail.then(() => {
      queued = undefined;
      return read(force);
    });
    queued = next;
    tail = next;
    return next;
  };
}
