import type { GatewayKey } from '../control/gateway-keys.js';
import type { KeyStore } from '../control/key-store.js';
import type { Person } from '../control/device-grants.js';
import type { Limits } from '../control/records.js';
import type { IdentityConfig } from './config.js';
import { settingsFor } from './managed-settings.js';

const CACHE_LIMIT = 10_000;

/**
 * The teams a person's IdP groups put them in, in a fixed order (the first is the one their requests report under):
 * the config's `groups` in the config's order, then the store's teams that list one of the groups, by name.
 */
export function teamsOf(groups: readonly string[], config: IdentityConfig, keys: KeyStore): string[] {
  const mine = new Set(groups);
  const out: string[] = [];
  for (const [group, team] of Object.entries(config.groups ?? {})) if (mine.has(group)) out.push(team);
  for (const t of keys.teams?.() ?? []) if (t.groups.some((g) => mine.has(g))) out.push(t.name);
  return [...new Set(out)];
}

/**
 * The models a person's managed settings allow (`availableModels`), as an allow-list: each name, and its dated and
 * suffixed forms (`claude-haiku-4-5` allows `claude-haiku-4-5-20251001`). None when the policy does not say.
 */
function policyModels(settings: Record<string, unknown> | undefined): string[] | undefined {
  const listed = settings?.['availableModels'];
  if (!Array.isArray(listed)) return undefined;
  return listed.filter((m): m is string => typeof m === 'string').flatMap((m) => [m, `${m}-*`]);
}

function mergedLimits(own: Limits | undefined, fallback: Limits | undefined): Limits | undefined {
  const out: Limits = {};
  for (const k of ['rpm', 'itpm', 'otpm', 'concurrency'] as const) {
    const v = own?.[k] ?? fallback?.[k] ?? undefined;
    if (v) out[k] = v;
  }
  return Object.keys(out).length ? out : undefined;
}

/**
 * A signed-in person as the key their requests are checked as: `oidc:<email>` by name, `oidc:<sub>` by id, their
 * email as the user, their teams (by IdP group), their own allow-list, budget and limits (what an admin set for them,
 * else the config's `people` defaults), and the allow-lists of their teams and managed-settings policy (each must
 * allow a model: the tightest wins). Made once per person, groups and cache generation, so that the limits stage's
 * plan (kept per key object) is made once too.
 */
export function createPersonKeys(keys: KeyStore, config: IdentityConfig): (person: Person) => GatewayKey {
  const made = new Map<string, { sig: string; key: GatewayKey }>();
  return (person) => {
    const sig = `${keys.generation?.() ?? 0}\n${person.email}\n${person.groups.join('\n')}`;
    const hit = made.get(person.sub);
    if (hit && hit.sig === sig) return hit.key;
    const key = personKey(person, config, keys);
    if (made.size >= CACHE_LIMIT) made.delete(made.keys().next().value!);
    made.set(person.sub, { sig, key });
    return key;
  };
}

/** The allow-lists besides a person's own: their managed-settings policy's, and each of their teams'. */
function otherLists(person: Person, teams: readonly string[], config: IdentityConfig, keys: KeyStore) {
  const lists: Array<{ whose: string; models: string[] }> = [];
  const policy = config.managed && policyModels(settingsFor(config.managed, person));
  if (policy) lists.push({ whose: 'the managed-settings policy (availableModels)', models: policy });
  for (const name of teams) {
    const t = keys.team?.(name);
    if (t?.models) lists.push({ whose: `team "${t.name}"`, models: t.models });
  }
  return lists;
}

function personKey(person: Person, config: IdentityConfig, keys: KeyStore): GatewayKey {
  const own = keys.person?.(person.sub);
  const defaults = config.people;
  const teams = teamsOf(person.groups, config, keys);
  const key: GatewayKey = { name: `oidc:${person.email}`, sha256: '', id: `oidc:${person.sub}`, user: person.email };
  if (config.blockedMessage) key.blockedMessage = config.blockedMessage;
  if (teams.length) {
    key.team = teams[0];
    key.teams = teams;
  }
  const models = own?.models ?? defaults?.models;
  if (models) key.models = models;
  const lists = otherLists(person, teams, config, keys);
  if (lists.length) key.teamModels = lists;
  const budget = own?.budget ?? defaults?.budget;
  if (budget) key.budget = budget;
  const limits = mergedLimits(own?.limits, defaults?.limits as Limits | undefined);
  if (limits) key.limits = limits;
  return key;
}
