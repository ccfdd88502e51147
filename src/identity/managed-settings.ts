import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Person } from '../control/device-grants.js';

const settingsObject = z.record(z.string(), z.unknown());

/**
 * Managed settings for signed-in Claude Code clients, by policy: `match` a person's groups (any of them) and/or email
 * domain (both when both are given; `{}` matches everyone and is the base the others are layered on); `settings` (or
 * `cli`, the Claude apps gateway's name) is a managed-settings document.
 */
export const managedSchema = z
  .object({
    policies: z
      .array(
        z
          .object({
            name: z.string().max(100).optional(),
            match: z
              .object({ groups: z.array(z.string()).optional(), email_domain: z.string().optional() })
              .strict()
              .default({}),
            settings: settingsObject.optional(),
            cli: settingsObject.optional(),
          })
          .strict(),
      )
      .max(200),
  })
  .strict();

export type ManagedConfig = z.infer<typeof managedSchema>;
type Policy = ManagedConfig['policies'][number];
type Settings = Record<string, unknown>;

const isCatchAll = (p: Policy) => !p.match.groups && p.match.email_domain === undefined;

function matches(p: Policy, person: Person): boolean {
  const { groups, email_domain: domain } = p.match;
  if (groups && !groups.some((g) => person.groups.includes(g))) return false;
  if (domain !== undefined) {
    const at = person.email.slice(person.email.lastIndexOf('@') + 1).toLowerCase();
    if (at !== domain.toLowerCase()) return false;
  }
  return true;
}

const ALLOW_LISTS = new Set(['availableModels']);
const MERGED_MAPS = new Set(['env', 'modelOverrides', 'skillOverrides']);

const union = (a: unknown, b: unknown): unknown[] => [
  ...new Set([...(Array.isArray(a) ? a : []), ...(Array.isArray(b) ? b : [])]),
];

/**
 * A policy layered on the base: allow-lists replaced, deny-lists and hooks unioned, `env`, `modelOverrides` and
 * `skillOverrides` merged key by key, anything else replaced.
 */
export function layer(base: Settings, over: Settings): Settings {
  const out: Settings = Object.assign({}, base);
  for (const [key, value] of Object.entries(over)) {
    const was = base[key];
    if (ALLOW_LISTS.has(key) || was === undefined) out[key] = value;
    else if (MERGED_MAPS.has(key)) out[key] = Object.assign({}, was, value);
    else if (key === 'permissions' && typeof value === 'object' && value && typeof was === 'object' && was) {
      const p = Object.assign({}, was, value) as Settings;
      p['deny'] = union((was as Settings)['deny'], (value as Settings)['deny']);
      if ((value as Settings)['ask'] !== undefined)
        p['ask'] = union((was as Settings)['ask'], (value as Settings)['ask']);
      out[key] = p;
    } else if (key === 'hooks' && typeof value === 'object' && value && typeof was === 'object' && was) {
      const hooks = Object.assign({}, was) as Settings;
      for (const [event, list] of Object.entries(value as Settings)) hooks[event] = union(hooks[event], list);
      out[key] = hooks;
    } else out[key] = value;
  }
  return out;
}

/** The document a person gets: the first policy that matches them, on the catch-all base; undefined when none. */
export function settingsFor(managed: ManagedConfig, person: Person): Settings | undefined {
  const base = managed.policies.find(isCatchAll);
  const chosen = managed.policies.find((p) => !isCatchAll(p) && matches(p, person)) ?? base;
  if (!chosen) return undefined;
  const own = (p: Policy | undefined): Settings => (p ? (p.settings ?? p.cli ?? {}) : {});
  return chosen === base ? own(base) : layer(own(base), own(chosen));
}

/** JSON with keys sorted at every level and no whitespace: what the checksum is taken over. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Settings)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

/** `sha256:<hex>` of the canonical JSON (the client computes the same for If-None-Match). */
export function settingsChecksum(settings: Settings): string {
  return `sha256:${createHash('sha256').update(canonical(settings)).digest('hex')}`;
}
