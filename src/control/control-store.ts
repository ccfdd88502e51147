import type { DeviceGrantCalls } from './device-grants.js';
import type { PeopleCalls } from './people.js';
import type { UiSessionCalls } from './ui-sessions.js';
import type { KeptResponseCalls } from './kept-responses.js';
import type { AlertCalls } from './alert-calls.js';
import type {
  Actor,
  KeyChange,
  KeyInput,
  KeyRecord,
  ReportGroup,
  ReportRow,
  TeamChange,
  TeamInput,
  TeamRecord,
  TokenCounts,
} from './records.js';

/** A ledger row: one request, as the ledger keeps it. Never a prompt, an answer or a secret. */
export interface LedgerRow extends TokenCounts {
  requestId: string;
  time: number;
  front: string;
  route: string;
  keyId: string | null;
  keyName: string | null;
  user: string | null;
  team: string | null;
  session: string | null;
  metadataUser: string | null;
  userAgent: string | null;
  model: string | null;
  bedrockModel: string | null;
  region: string | null;
  scope: string | null;
  status: number;
  error: string | null;
  /** Why the gateway refused it, when it did (budget, rate limit, ...). */
  reason: string | null;
  streamed: boolean;
  latencyMs: number;
  ttfbMs: number | null;
  /** The betas and fields the sanitising policy removed, comma-separated. */
  dropped: string | null;
  /** The output tokens (and cost) were estimated from what the stream delivered: no final usage came. */
  usageEstimated: boolean;
  serviceTier: string | null;
  /** A person's other teams, as a JSON list. */
  teams: string | null;
  /** What an OpenAI client tagged its request with, as JSON. */
  clientMetadata: string | null;
  /** The model as the client spelt it (`model` is the catalog's name of what it resolved to). */
  clientModel: string | null;
}

export type SeriesGroup = 'model' | 'key' | 'user' | 'team';

/** One bucket of one group: its requests and spend. */
export interface SeriesRow {
  bucket: number;
  group: string | null;
  requests: number;
  errors: number;
  costUsd: number;
}

/** Percentiles in ms (null when no request had one). */
export interface LatencySummary {
  requests: number;
  p50LatencyMs: number | null;
  p95LatencyMs: number | null;
  p50TtfbMs: number | null;
  p95TtfbMs: number | null;
}

/**
 * The rows someone who is not an admin may see: those of their teams and their own (the dashboard's team admins and
 * members). Absent: all rows.
 */
export interface LedgerScope {
  teams: readonly string[];
  user: string | undefined;
}

/** `AND (team IN (...) OR "user" = ?)` for a scope, with its parameters (the same in both dialects and tables). */
export function scopeSql(scope: LedgerScope | undefined): { sql: string; params: string[] } {
  if (!scope) return { sql: '', params: [] };
  const parts: string[] = [];
  const params: string[] = [];
  if (scope.teams.length) {
    parts.push(`team IN (${scope.teams.map(() => '?').join(', ')})`);
    params.push(...scope.teams);
  }
  if (scope.user !== undefined) {
    parts.push('"user" = ?');
    params.push(scope.user);
  }
  return { sql: ` AND (${parts.length ? parts.join(' OR ') : '1 = 0'})`, params };
}

/** Which ledger rows to list: a time range, optional filters, and the cursor of the last row seen. */
export interface RequestFilter {
  since: number;
  until: number;
  limit: number;
  key?: string | undefined;
  model?: string | undefined;
  status?: number | undefined;
  user?: string | undefined;
  team?: string | undefined;
  after?: { time: number; requestId: string } | undefined;
  scope?: LedgerScope | undefined;
}

/**
 * The control plane's store, as the gateway, the admin API and the CLI see it: keys and teams, the
 * ledger and its reports. Async, so that the embedded store (SQLite in the data directory) and a
 * store shared by several replicas (PostgreSQL) are the same to every caller. Errors a person can
 * act on (no such key, a name taken) are Errors whose message says so.
 */
export interface ControlStore extends DeviceGrantCalls, PeopleCalls, UiSessionCalls, KeptResponseCalls, AlertCalls {
  /** Where it is, for messages: a data directory, or a database URL without its password. */
  readonly where: string;
  /** A number that changes whenever a key or a team does (polled by every replica's key cache). */
  changes(): Promise<number>;
  /** Calls `listener` soon after a key or a team changes, on any replica (where the store can push). */
  watch?(listener: () => void): void;

  // Every change below is written to the audit log with who made it (`by`), through what and from where.
  createKey(input: KeyInput, now: number, by?: Actor): Promise<{ key: string; record: KeyRecord }>;
  listKeys(): Promise<KeyRecord[]>;
  findKey(idOrName: string): Promise<KeyRecord | undefined>;
  updateKey(idOrName: string, change: KeyChange, by?: Actor): Promise<KeyRecord>;
  revokeKey(idOrName: string, now: number, by?: Actor): Promise<KeyRecord>;
  /** A new secret for a key (shown once); the old one keeps working for `overlapMs` (0: not at all). */
  rotateKey(idOrName: string, now: number, overlapMs: number, by?: Actor): Promise<{ key: string; record: KeyRecord }>;
  /** Deletes a key's record (the ledger keeps its rows, by id and name). */
  deleteKey(idOrName: string, by?: Actor): Promise<KeyRecord>;
  createTeam(input: TeamInput, now: number, by?: Actor): Promise<TeamRecord>;
  listTeams(): Promise<TeamRecord[]>;
  findTeam(name: string): Promise<TeamRecord | undefined>;
  updateTeam(name: string, change: TeamChange, by?: Actor): Promise<TeamRecord>;
  /** Deletes a team no active key belongs to (its keys must move or be revoked first). */
  deleteTeam(name: string, by?: Actor): Promise<TeamRecord>;

  /** Appends ledger rows; a request id already there is not written again. Answers how many were new. */
  appendLedger(rows: readonly LedgerRow[]): Promise<number>;
  /** Totals of the ledger rows in `[since, until)`, grouped, the most spent first. */
  report(by: ReportGroup, since: number, until: number, scope?: LedgerScope): Promise<ReportRow[]>;
  /** What a key (by id) or a team spent from `since` on, by the ledger's rows. */
  spentSince(kind: 'key' | 'team', id: string, since: number): Promise<number>;
  /** Ledger rows, newest first. */
  requests(filter: RequestFilter): Promise<LedgerRow[]>;
  /**
   * Requests and spend per time bucket of `stepMs` (aligned to the epoch, so to UTC days and hours) and group, in
   * `[since, until)`.
   */
  series(by: SeriesGroup, since: number, until: number, stepMs: number, scope?: LedgerScope): Promise<SeriesRow[]>;
  /** Latency and time to first byte percentiles of the requests in `[since, until)`. */
  latency(since: number, until: number): Promise<LatencySummary>;
  /** When each key (by id) was last used, by the ledger. */
  lastUsed(): Promise<Record<string, number>>;
  /** Deletes the ledger rows older than a time (retention); answers how many. */
  prune(before: number): Promise<number>;
  close(): Promise<void>;
}
