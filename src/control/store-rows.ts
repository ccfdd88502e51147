import type { Budget, KeyRecord, Limits, PersonRecord, TeamRecord } from './records.js';

// The rows of keys and teams as both databases hold them (the same columns), and as records.

export interface KeyRow {
  id: string;
  name: string;
  sha256: string;
  user: string | null;
  team: string | null;
  created: number;
  expires: number | null;
  revoked: number | null;
  models: string | null;
  budget_usd: number | null;
  budget_period: string | null;
  /** 1 for a soft budget (alerts, never refuses); since migration 15. */
  budget_soft?: number | null;
  rpm: number | null;
  itpm: number | null;
  otpm: number | null;
  concurrency: number | null;
  /** Since migration 14 (absent from a new row: NULL). */
  rotated?: number | string | null;
  previous_sha256?: string | null;
  previous_until?: number | string | null;
}
export type TeamRow = Pick<
  KeyRow,
  'budget_usd' | 'budget_period' | 'budget_soft' | 'rpm' | 'itpm' | 'otpm' | 'concurrency'
> & {
  name: string;
  created: number;
  groups: string | null;
  models: string | null;
};
export type PersonRow = Pick<
  KeyRow,
  'models' | 'budget_usd' | 'budget_period' | 'budget_soft' | 'rpm' | 'itpm' | 'otpm' | 'concurrency'
> & {
  subject: string;
  email: string;
  name: string | null;
  groups: string;
  first_seen: number | string;
  last_seen: number | string;
};

const LIMIT_NAMES = ['rpm', 'itpm', 'otpm', 'concurrency'] as const;
const SETTINGS = {
  budget_usd: null,
  budget_period: null,
  budget_soft: null,
  rpm: null,
  itpm: null,
  otpm: null,
  concurrency: null,
};

export const orUndefined = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

function budgetOf(r: Pick<KeyRow, 'budget_usd' | 'budget_period' | 'budget_soft'>): Budget | undefined {
  if (r.budget_usd === null) return undefined;
  const budget: Budget = { usd: r.budget_usd, period: (r.budget_period ?? 'month') as Budget['period'] };
  if (r.budget_soft) budget.soft = true;
  return budget;
}

function limitsOf(r: Pick<KeyRow, 'rpm' | 'itpm' | 'otpm' | 'concurrency'>): Limits {
  return {
    rpm: orUndefined(r.rpm),
    itpm: orUndefined(r.itpm),
    otpm: orUndefined(r.otpm),
    concurrency: orUndefined(r.concurrency),
  };
}

export function keyOf(r: KeyRow): KeyRecord {
  const record: KeyRecord = {
    id: r.id,
    name: r.name,
    sha256: r.sha256,
    user: orUndefined(r.user),
    team: orUndefined(r.team),
    created: r.created,
    expires: orUndefined(r.expires),
    revoked: orUndefined(r.revoked),
    models: r.models === null ? undefined : (JSON.parse(r.models) as string[]),
    budget: budgetOf(r),
    limits: limitsOf(r),
  };
  // A rotated key's: when, and the old secret's hash with the end of its overlap.
  if (r.rotated != null) record.rotated = Number(r.rotated);
  if (r.previous_sha256 != null && r.previous_until != null) {
    record.previousSha256 = r.previous_sha256;
    record.previousUntil = Number(r.previous_until);
  }
  return record;
}

const listOf = (text: string | null): string[] | undefined =>
  text === null ? undefined : (JSON.parse(text) as string[]);

export function teamOf(r: TeamRow): TeamRecord {
  const groups = listOf(r.groups) ?? [];
  return {
    name: r.name,
    created: Number(r.created),
    budget: budgetOf(r),
    limits: limitsOf(r),
    groups,
    models: listOf(r.models),
  };
}

export function personOf(r: PersonRow): PersonRecord {
  return {
    subject: r.subject,
    email: r.email,
    name: orUndefined(r.name),
    groups: listOf(r.groups) ?? [],
    firstSeen: Number(r.first_seen),
    lastSeen: Number(r.last_seen),
    models: listOf(r.models),
    budget: budgetOf(r),
    limits: limitsOf(r),
  };
}

/** The columns of a change to a team's or a person's groups and models (only the fields it names). */
export function listColumns(change: { groups?: string[] | undefined; models?: string[] | null | undefined }) {
  const out: Record<string, unknown> = {};
  if (change.groups !== undefined) out['groups'] = JSON.stringify(change.groups);
  if (change.models !== undefined) out['models'] = change.models === null ? null : JSON.stringify(change.models);
  return out;
}

type SettingsInput = {
  budget?: Budget | null | undefined;
  limits?: { [k in keyof Limits]?: number | null | undefined } | undefined;
};

/** Column values for the budget and limits of an input or a change (only the fields it names). */
export function settings(input: SettingsInput): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (input.budget !== undefined) {
    out['budget_usd'] = input.budget?.usd ?? null;
    out['budget_period'] = input.budget?.period ?? null;
    out['budget_soft'] = input.budget?.soft ? 1 : null;
  }
  for (const k of LIMIT_NAMES) if (input.limits && k in input.limits) out[k] = input.limits[k] ?? null;
  return out;
}

/** A new team's row: no budget, limit, group or allow-list unless the input names one. */
export function newTeamRow(
  input: SettingsInput & { name: string; groups?: string[] | undefined; models?: string[] | null | undefined },
  now: number,
): TeamRow {
  const base = { name: input.name, created: now, groups: null, models: null };
  return Object.assign(base, SETTINGS, settings(input), listColumns(input)) as TeamRow;
}

/** A new key's row. */
export function newKeyRow(
  input: SettingsInput & {
    name: string;
    user?: string | null | undefined;
    team?: string | null | undefined;
    models?: string[] | null | undefined;
    expires?: number | null | undefined;
  },
  id: string,
  sha256: string,
  now: number,
): KeyRow {
  const models = input.models ? JSON.stringify(input.models) : null;
  const base = {
    id,
    name: input.name,
    sha256,
    user: input.user ?? null,
    team: input.team ?? null,
    created: now,
    expires: input.expires ?? null,
    revoked: null,
    models,
  };
  return Object.assign(base, SETTINGS, settings(input)) as KeyRow;
}
