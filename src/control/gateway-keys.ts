import type { Budget, Limits } from './records.js';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A gateway key as stored in config: a name, the SHA-256 of the key, and the models it may call. */
export interface GatewayKey {
  name: string;
  /** Hex SHA-256 of the key. The key itself is never stored. */
  sha256: string;
  /** Client model names or patterns (`claude-haiku-*`) this key may call; all when absent. */
  models?: string[] | undefined;
  /** For a key of the store: its id, owner and team (config keys have only a name). */
  id?: string | undefined;
  user?: string | undefined;
  team?: string | undefined;
  /** A signed-in person's teams (by their IdP groups), the first being `team`: each one's limits apply. */
  teams?: string[] | undefined;
  /** Other allow-lists (a person's teams', their managed-settings policy's): a model must pass each one too. */
  teamModels?: Array<{ whose: string; models: string[] }> | undefined;
  /** Said after a budget refusal of this key's (a signed-in person's: `identity.blockedMessage`). */
  blockedMessage?: string | undefined;
  /** Rate limits and a budget, when the key has them (the control plane enforces them). */
  limits?: Limits | undefined;
  budget?: Budget | undefined;
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** A new random key (`bck-` + 40 base62-ish chars) and its config entry. */
export function createGatewayKey(name: string): { key: string; entry: GatewayKey } {
  const key = `bck-${randomBytes(30).toString('base64url')}`;
  return { key, entry: { name, sha256: hashKey(key) } };
}

/**
 * Finds the key a request presents (`x-api-key`, or `Authorization: Bearer`), comparing hashes in
 * constant time. Returns undefined when none matches.
 */
export function findKey(keys: readonly GatewayKey[], presented: string | undefined): GatewayKey | undefined {
  if (!presented) return undefined;
  const digest = Buffer.from(hashKey(presented), 'hex');
  let found: GatewayKey | undefined;
  for (const k of keys) {
    const stored = Buffer.from(k.sha256, 'hex');
    // Compare against every key so timing does not tell which one matched.
    if (stored.length === digest.length && timingSafeEqual(stored, digest) && !found) found = k;
  }
  return found;
}

/** Whether a key may call a client model name. */
export function keyAllows(key: GatewayKey | undefined, model: string): boolean {
  return refusedBy(key, model) === undefined;
}

/** Whose allow-list refuses a model (`the key "ci"`, `team "ml"`), or undefined when every one allows it. */
export function refusedBy(key: GatewayKey | undefined, model: string): string | undefined {
  if (!key) return undefined;
  if (key.models && !listAllows(key.models, model))
    return key.id?.startsWith('oidc:') ? `${key.user ?? key.name}'s own allow-list` : `the key "${key.name}"`;
  return key.teamModels?.find((list) => !listAllows(list.models, model))?.whose;
}

const listAllows = (list: readonly string[], model: string) =>
  list.some((p) => (p.endsWith('*') ? model.startsWith(p.slice(0, -1)) : p === model));
