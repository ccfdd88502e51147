import type { LedgerRow } from './control-store.js';
import type { UsageRecord } from './usage-record.js';

/** A value as the ledger keeps it. Booleans are SQLite integers (0 or 1) and PostgreSQL booleans. */
export type LedgerValue = string | number | boolean | null;

/** One column of the ledger: its name, its type in each dialect, and where its value comes from. */
export interface LedgerColumn {
  name: string;
  field: keyof LedgerRow;
  sqlite: string;
  postgres: string;
  /** `NOT NULL`, `PRIMARY KEY` or nothing, the same in both dialects. */
  constraint: string;
  /** The schema version (migration) that added the column. */
  since: number;
  /** The value of this column for a request's usage record. */
  of(u: UsageRecord): LedgerValue;
}

const str = (v: string | undefined) => v ?? null;
const num = (v: number | undefined) => v ?? 0;
const ms = (v: number) => Math.round(v * 1000) / 1000;

type Spec = [
  name: string,
  field: keyof LedgerRow,
  sqlite: string,
  postgres: string,
  constraint: string,
  of: (u: UsageRecord) => LedgerValue,
  since?: number,
];

// The ledger, one line a column. Inserts (both dialects), reading rows back, the PostgreSQL batch's
// array types and the migrations' column lists all come from here. A new column is a line with the
// `since` of the migration that adds it; released migrations keep their own columns.
const SPECS: Spec[] = [
  ['request_id', 'requestId', 'TEXT', 'text', 'PRIMARY KEY', (u) => u.requestId],
  ['time', 'time', 'INTEGER', 'bigint', 'NOT NULL', (u) => u.time],
  ['front', 'front', 'TEXT', 'text', 'NOT NULL', (u) => u.front],
  ['route', 'route', 'TEXT', 'text', 'NOT NULL', (u) => u.route],
  ['key_id', 'keyId', 'TEXT', 'text', '', (u) => str(u.keyId)],
  ['key_name', 'keyName', 'TEXT', 'text', '', (u) => str(u.key)],
  ['user', 'user', 'TEXT', 'text', '', (u) => str(u.user)],
  ['team', 'team', 'TEXT', 'text', '', (u) => str(u.team)],
  ['session', 'session', 'TEXT', 'text', '', (u) => str(u.session)],
  ['metadata_user', 'metadataUser', 'TEXT', 'text', '', (u) => str(u.metadataUser)],
  ['user_agent', 'userAgent', 'TEXT', 'text', '', (u) => str(u.userAgent)],
  // The catalog's name of the model (reports group by it), else the client's spelling (client_model, from 13).
  ['model', 'model', 'TEXT', 'text', '', (u) => str(u.modelName ?? u.model)],
  ['bedrock_model', 'bedrockModel', 'TEXT', 'text', '', (u) => str(u.bedrockModel)],
  ['region', 'region', 'TEXT', 'text', '', (u) => str(u.region)],
  ['scope', 'scope', 'TEXT', 'text', '', (u) => str(u.scope)],
  ['status', 'status', 'INTEGER', 'integer', 'NOT NULL', (u) => u.status],
  ['error', 'error', 'TEXT', 'text', '', (u) => str(u.error)],
  ['reason', 'reason', 'TEXT', 'text', '', (u) => str(u.reason)],
  ['streamed', 'streamed', 'INTEGER', 'boolean', 'NOT NULL', (u) => u.streamed],
  ['input_tokens', 'inputTokens', 'INTEGER', 'bigint', 'NOT NULL', (u) => num(u.inputTokens)],
  ['output_tokens', 'outputTokens', 'INTEGER', 'bigint', 'NOT NULL', (u) => num(u.outputTokens)],
  ['cache_read_tokens', 'cacheReadTokens', 'INTEGER', 'bigint', 'NOT NULL', (u) => num(u.cacheReadTokens)],
  ['cache_write_5m_tokens', 'cacheWrite5mTokens', 'INTEGER', 'bigint', 'NOT NULL', (u) => num(u.cacheWrite5mTokens)],
  ['cache_write_1h_tokens', 'cacheWrite1hTokens', 'INTEGER', 'bigint', 'NOT NULL', (u) => num(u.cacheWrite1hTokens)],
  ['cost_usd', 'costUsd', 'REAL', 'double precision', 'NOT NULL', (u) => num(u.costUsd)],
  ['latency_ms', 'latencyMs', 'REAL', 'double precision', 'NOT NULL', (u) => ms(u.latencyMs)],
  ['ttfb_ms', 'ttfbMs', 'REAL', 'double precision', '', (u) => (u.ttfbMs === undefined ? null : ms(u.ttfbMs))],
  // 2: the betas and fields the policy dropped, per request (the dashboard's requests page).
  ['dropped', 'dropped', 'TEXT', 'text', '', (u) => (u.dropped?.length ? u.dropped.join(',') : null), 2],
  // 3: output estimated from what a stream delivered, when no final usage came (rows before it read false).
  ['usage_estimated', 'usageEstimated', 'INTEGER', 'boolean', '', (u) => u.usageEstimated, 3],
  // 4: the service tier the client asked for (priority, flex, default), when it asked.
  ['service_tier', 'serviceTier', 'TEXT', 'text', '', (u) => str(u.serviceTier), 4],
  // 7: the other teams a signed-in person's request counted against (JSON), besides `team` (their first).
  ['teams', 'teams', 'TEXT', 'text', '', (u) => (u.teams?.length ? JSON.stringify(u.teams) : null), 7],
  // 11: what an OpenAI client tagged its request with (metadata, client_metadata, prompt_cache_key), as JSON.
  ['client_metadata', 'clientMetadata', 'TEXT', 'text', '', (u) => str(u.clientMetadata), 11],
  // 13: the model as the client spelt it (`haiku`, a profile ID), beside the catalog's name in `model`.
  ['client_model', 'clientModel', 'TEXT', 'text', '', (u) => str(u.model), 13],
];

export const LEDGER: readonly LedgerColumn[] = SPECS.map(([name, field, sqlite, postgres, constraint, of, since]) => ({
  name,
  field,
  sqlite,
  postgres,
  constraint,
  of,
  since: since ?? 1,
}));

/** The column names in table order, quoted for either dialect (`user` is a keyword in PostgreSQL). */
export const LEDGER_COLUMN_LIST = LEDGER.map((c) => `"${c.name}"`).join(', ');

/** `name TYPE CONSTRAINT` for the columns a migration adds, in a dialect. */
export function ledgerColumnDefs(dialect: 'sqlite' | 'postgres', since: number): string[] {
  return LEDGER.filter((c) => c.since === since).map(
    (c) => `"${c.name}" ${c[dialect]}${c.constraint ? ` ${c.constraint}` : ''}`,
  );
}

/** A usage record as its ledger row. */
export function ledgerRowOf(u: UsageRecord): LedgerRow {
  const row: Record<string, LedgerValue> = {};
  for (const c of LEDGER) row[c.field] = c.of(u);
  return row as unknown as LedgerRow;
}

/** A ledger row as the insert's parameters, in table order. Booleans as SQLite takes them (0 or 1). */
export function ledgerValues(r: LedgerRow): Array<string | number | null> {
  return LEDGER.map((c) => sqliteValue(r[c.field]));
}

/** A usage record as the SQLite insert's parameters, with no row object between (the writer thread's hot path). */
export function ledgerValuesOf(u: UsageRecord): Array<string | number | null> {
  return LEDGER.map((c) => sqliteValue(c.of(u)));
}

const sqliteValue = (v: LedgerValue | undefined): string | number | null =>
  typeof v === 'boolean' ? (v ? 1 : 0) : (v ?? null);

/** A row as either database gives it back (snake_case; SQLite's 0/1 for booleans) as a ledger row. */
export function ledgerRowFromDb(r: Record<string, unknown>): LedgerRow {
  const row: Record<string, unknown> = {};
  for (const c of LEDGER) {
    const v = r[c.name];
    row[c.field] = c.postgres === 'boolean' ? v === 1 || v === true : (v ?? null);
  }
  return row as unknown as LedgerRow;
}
