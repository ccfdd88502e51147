import { findKey, type GatewayKey } from './gateway-keys.js';
import type { PersonRecord, TeamRecord } from './records.js';

/**
 * Where the gateway looks up the key a request presents. Async, so that a store shared by several
 * replicas (a database, with a cache in front) can implement it; the request path sees only this.
 */
export interface KeyStore {
  /** Whether the gateway has keys at all; without them it is open (loopback only, unless told otherwise). */
  enabled(): boolean;
  /** The key a request presented, or undefined when none matches (compared by hash, in constant time). */
  find(presented: string | undefined): Promise<GatewayKey | undefined>;
  /** A team's budget and limits, from the same cache (stores without teams leave it out). */
  team?(name: string): TeamRecord | undefined;
  /** Every team, for their IdP groups (stores without teams leave it out). */
  teams?(): readonly TeamRecord[];
  /** What an admin set for a signed-in person (by subject), from the same cache. */
  person?(subject: string): PersonRecord | undefined;
  /** A number that changes whenever the cache is read again (what is derived from it must be made again). */
  generation?(): number;
}

/** The keys of the config file: read-only, in process memory. */
export function createStaticKeyStore(keys: readonly GatewayKey[]): KeyStore {
  const none = Promise.resolve(undefined);
  return {
    enabled: () => keys.length > 0,
    find(presented) {
      const key = findKey(keys, presented);
      return key ? Promise.resolve(key) : none;
    },
  };
}
