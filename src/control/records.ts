import { z } from 'zod';

/** How often a budget starts again: at calendar boundaries in the configured time zone, or never. */
export const BUDGET_PERIODS = ['day', 'week', 'month', 'total'] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

/** Rate limits as the Anthropic API defines them, and concurrent requests. Absent: no limit. */
export interface Limits {
  rpm?: number | undefined;
  itpm?: number | undefined;
  otpm?: number | undefined;
  concurrency?: number | undefined;
}

export interface Budget {
  usd: number;
  period: BudgetPeriod;
  /** Alerts at its thresholds, never refuses. */
  soft?: boolean | undefined;
}

/** A key as the store keeps it: the secret only as its SHA-256. */
export interface KeyRecord {
  id: string;
  name: string;
  sha256: string;
  user: string | undefined;
  team: string | undefined;
  created: number;
  expires: number | undefined;
  revoked: number | undefined;
  /** Client model names or patterns (`claude-haiku-*`); all when absent. */
  models: string[] | undefined;
  budget: Budget | undefined;
  limits: Limits;
  /** When its secret was last rotated (`keys rotate`). */
  rotated?: number | undefined;
  /** The secret before the last rotation (its hash), and until when it still works: the overlap. */
  previousSha256?: string | undefined;
  previousUntil?: number | undefined;
}

export interface TeamRecord {
  name: string;
  created: number;
  budget: Budget | undefined;
  limits: Limits;
  /** The identity provider's groups whose signed-in members belong to the team. */
  groups: string[];
  /** Client model names or patterns its members may call; all when absent. */
  models: string[] | undefined;
}

/** A person who signed in through the identity provider, and what the admin set for them alone. */
export interface PersonRecord {
  /** The provider's subject (`oidc:<sub>` in the ledger's key id). */
  subject: string;
  email: string;
  name: string | undefined;
  /** Their groups at their last sign-in or refresh. */
  groups: string[];
  firstSeen: number;
  lastSeen: number;
  /** The models they may call; the people default (config) when absent. */
  models: string[] | undefined;
  budget: Budget | undefined;
  limits: Limits;
}

/** Who made a change, through what, from where: what the audit log keeps besides the change. */
export interface Actor {
  /** `admin-key`, `oidc:<sub>` (a person through the dashboard), or `cli:<OS user>`. */
  actor: string;
  via: 'api' | 'cli' | 'dashboard';
  /** The client's address (the API's), or the host (the CLI's). */
  address?: string | undefined;
  /** When (ms since the epoch); now when absent. */
  time?: number | undefined;
}

/** One change as the audit log keeps it: append-only, never changed or deleted through any API. */
export interface AuditEntry {
  id: number;
  time: number;
  actor: string;
  via: string;
  address: string | undefined;
  /** `key.create`, `key.update`, `key.revoke`, `team.create`, `team.update`, `team.delete`, `person.update`, ... */
  action: string;
  target: string;
  before: unknown;
  after: unknown;
}

/** The largest limit taken (a billion a minute, or at once): past it a number is a typo, not a limit. */
export const LIMIT_MAX = 1_000_000_000;
/** The last instant a date can be written for (9999-12-31): an expiry past it would break every listing. */
export const EXPIRES_MAX = 253_402_300_799_999;

const positive = z.number().int().positive().max(LIMIT_MAX);

/** The fields a key or a team can be given or changed with (CLI options, admin API bodies). */
export const limitsSchema = z
  .object({
    rpm: positive.nullable().optional(),
    itpm: positive.nullable().optional(),
    otpm: positive.nullable().optional(),
    concurrency: positive.nullable().optional(),
  })
  .strict();

export const budgetSchema = z
  .object({
    usd: z.number().nonnegative().max(LIMIT_MAX),
    period: z.enum(BUDGET_PERIODS).default('month'),
    /** A soft budget alerts at its thresholds and never refuses. */
    soft: z.boolean().optional(),
  })
  .strict();

const modelsSchema = z
  .array(z.string().min(1).max(2048))
  .min(1, 'empty: leave it out, or null, for all models')
  .max(1000)
  .nullable()
  .optional();

export const keyInputSchema = z
  .object({
    name: z.string().min(1).max(200),
    user: z.string().min(1).max(200).nullable().optional(),
    team: z.string().min(1).max(200).nullable().optional(),
    /** The models it may call (patterns); null: all. An empty list would allow none, so it is refused. */
    models: modelsSchema,
    budget: budgetSchema.nullable().optional(),
    limits: limitsSchema.optional(),
    /** When the key stops working, ms since the epoch; null: never. */
    expires: z.number().int().positive().max(EXPIRES_MAX, 'after the year 9999').nullable().optional(),
  })
  .strict();
export type KeyInput = z.infer<typeof keyInputSchema>;
export const keyChangeSchema = keyInputSchema.partial();
export type KeyChange = z.infer<typeof keyChangeSchema>;

export const teamInputSchema = z
  .object({
    name: z.string().min(1).max(200),
    budget: budgetSchema.nullable().optional(),
    limits: limitsSchema.optional(),
    /** The identity provider's groups whose members belong to the team ([] for none). */
    groups: z.array(z.string().min(1).max(256)).max(100).optional(),
    models: modelsSchema,
  })
  .strict();
export type TeamInput = z.infer<typeof teamInputSchema>;
export const teamChangeSchema = teamInputSchema.partial().omit({ name: true });
export type TeamChange = z.infer<typeof teamChangeSchema>;

/** What an admin may set for one person: their own models, budget and limits (the config's defaults otherwise). */
export const personChangeSchema = z
  .object({ models: modelsSchema, budget: budgetSchema.nullable().optional(), limits: limitsSchema.optional() })
  .strict();
export type PersonChange = z.infer<typeof personChangeSchema>;

/** Whether a key is usable at `now`: not revoked, not expired. */
export function keyActive(key: Pick<KeyRecord, 'revoked' | 'expires'>, now: number): boolean {
  return key.revoked === undefined && (key.expires === undefined || key.expires > now);
}

/** `30d`, `12h`, `90m` or an ISO date, as ms since the epoch from `now`. */
export function parseExpiry(text: string, now: number): number {
  const m = /^(\d+)\s*([dhm])$/.exec(text.trim());
  if (m) return now + Number(m[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2] as 'd' | 'h' | 'm'];
  const at = Date.parse(text);
  if (Number.isNaN(at)) throw new Error(`"${text}" is not a duration (30d, 12h, 90m) or a date (2027-01-31)`);
  return at;
}

export const REPORT_GROUPS = ['key', 'user', 'team', 'model', 'client-model', 'day', 'session'] as const;
export type ReportGroup = (typeof REPORT_GROUPS)[number];

/** Tokens by kind and their cost: what a ledger row holds of a request, and a report row totals. */
export interface TokenCounts {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWrite5mTokens: number;
  cacheWrite1hTokens: number;
  costUsd: number;
}

export interface ReportRow extends TokenCounts {
  group: string | null;
  requests: number;
  errors: number;
}

/**
 * Input checked against one of the schemas above, failing with the first problem named by its field
 * (`limits.rpm: ...`): the words the admin API answers 400 with and the CLI prints, from one place.
 */
export function validate<T>(
  schema: z.ZodType<T>,
  value: unknown,
): { ok: true; value: T } | { ok: false; problem: string } {
  const r = schema.safeParse(value);
  if (r.success) return { ok: true, value: r.data };
  const issue = r.error.issues[0]!;
  return { ok: false, problem: `${issue.path.join('.') || '(body)'}: ${issue.message}` };
}
