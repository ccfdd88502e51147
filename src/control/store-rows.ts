import type { LedgerRow } from './control-store.js';
import type { Budget, KeyRecord, Limits, TeamRecord } from './records.js';

// What the embedded store and the PostgreSQL store share: the ledger's columns, and the rows of
// keys and teams as records (the two databases hold the same columns).

export const LEDGER_COLUMNS = ['request_id', 'time', 'front', 'route', 'key_id', 'key_name', 'user', 'team', 'session', 'metadata_user', 'user_agent', 'model', 'bedrock_model', 'region', 'scope', 'status', 'error', 'reason', 'streamed', 'input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_write_5m_tokens', 'cache_write_1h_tokens', 'cost_usd', 'latency_ms', 'ttfb_ms', 'dropped'];

/** A ledger row as the insert's parameters, in LEDGER_COLUMNS order. */
export function ledgerValues(r: LedgerRow): Array<string | number | null> {
  return [r.requestId, r.time, r.front, r.route, r.keyId, r.keyName, r.user, r.team, r.session, r.metadataUser, r.userAgent, r.model, r.bedrockModel, r.region, r.scope, r.status, r.error, r.reason, r.streamed ? 1 : 0, r.inputTokens, r.outputTokens, r.cacheReadTokens, r.cacheWrite5mTokens, r.cacheWrite1hTokens, r.costUsd, r.latencyMs, r.ttfbMs, r.dropped ?? null];
}

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
  rpm: number | null;
  itpm: number | null;
  otpm: number | null;
  concurrency: number | null;
}
export type TeamRow = Pick<KeyRow, 'budget_usd' | 'budget_period' | 'rpm' | 'itpm' | 'otpm' | 'concurrency'> & { name: string; created: number };

export const orUndefined = <T>(v: T | null): T | undefined => (v === null ? undefined : v);
export const budgetOf = (r: Pick<KeyRow, 'budget_usd' | 'budget_period'>): Budget | undefined => (r.budget_usd === null ? undefined : { usd: r.budget_usd, period: (r.budget_period ?? 'month') as Budget['period'] });
export const limitsOf = (r: Pick<KeyRow, 'rpm' | 'itpm' | 'otpm' | 'concurrency'>): Limits => ({ rpm: orUndefined(r.rpm), itpm: orUndefined(r.itpm), otpm: orUndefined(r.otpm), concurrency: orUndefined(r.concurrency) });

export function keyOf(r: KeyRow): KeyRecord {
  return { id: r.id, name: r.name, sha256: r.sha256, user: orUndefined(r.user), team: orUndefined(r.team), created: r.created, expires: orUndefined(r.expires), revoked: orUndefined(r.revoked), models: r.models === null ? undefined : (JSON.parse(r.models) as string[]), budget: budgetOf(r), limits: limitsOf(r) };
}

export function teamOf(r: TeamRow): TeamRecord {
  return { name: r.name, created: r.created, budget: budgetOf(r), limits: limitsOf(r) };
}

/** Column values for the budget and limits of an input or a change (only the fields it names). */
export function settings(input: { budget?: Budget | null | undefined; limits?: { [k in keyof Limits]?: number | null | undefined } | undefined }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (input.budget !== undefined) {
    out['budget_usd'] = input.budget?.usd ?? null;
    out['budget_period'] = input.budget?.period ?? null;
  }
  for (const k of ['rpm', 'itpm', 'otpm', 'concurrency'] as const) if (input.limits && k in input.limits) out[k] = input.limits[k] ?? null;
  return out;
}

/** A row as the databases give it (snake_case) as a ledger row. */
export function ledgerRowOf(r: Record<string, unknown>): LedgerRow {
  const camel = (k: string) => k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) out[camel(k)] = v;
  out['streamed'] = r['streamed'] === 1 || r['streamed'] === true;
  return out as unknown as LedgerRow;
}

