// The admin API's answers, as the server makes them and the dashboard reads them: one source for
// both (the dashboard imports these types; the admin API checks its answers against them).
import type { LatencySummary, LedgerRow, SeriesRow } from '../control/control-store.js';
import type {
  AuditEntry,
  Budget,
  KeyRecord,
  PersonRecord,
  ReportGroup,
  ReportRow,
  TeamRecord,
} from '../control/records.js';
import type { LiveSnapshot } from './live.js';

export type { AuditEntry, Budget, KeyRecord, LatencySummary, LedgerRow, LiveSnapshot, PersonRecord, ReportRow };
export type { SeriesRow, TeamRecord };
export type { Limits } from '../control/records.js';
export type { BudgetAlert } from '../control/alert-calls.js';

/** A key as `GET /admin/keys` lists it: the record and when the ledger last saw it. */
export type KeyView = KeyRecord & { lastUsed: number | null };

/** A new key: its record and, this once, its secret. */
export type CreatedKey = KeyRecord & { key: string };

/** A budget and what was spent against it in its current period (`GET /admin/budgets`). */
export interface BudgetUse {
  kind: 'key' | 'person' | 'team';
  id: string;
  name: string;
  budget: Budget;
  spentUsd: number;
  periodStart: string;
  periodEnd: string | null;
}

export interface UsageAnswer {
  by: ReportGroup;
  since: string;
  until: string;
  rows: ReportRow[];
}

export interface SeriesAnswer {
  by: 'model' | 'key' | 'user' | 'team';
  step: 'hour' | 'day';
  since: string;
  until: string;
  rows: SeriesRow[];
}

export type LatencyAnswer = LatencySummary & { since: string; until: string };

export interface RequestsPage {
  data: LedgerRow[];
  next_cursor: string | null;
}

/** The audit log, newest first; `next_before_id` asks for the page after (null: no more). */
export interface AuditPage {
  data: AuditEntry[];
  next_before_id: number | null;
}

/** `GET /admin/me`: who calls, their role, and the CSRF token a dashboard session's changes carry. */
export interface MeAnswer {
  role: 'admin' | 'team-admin' | 'member';
  email: string | null;
  name: string | null;
  /** The teams a team admin runs. */
  adminOf: string[];
  teams: string[];
  csrf: string | null;
  via: 'admin-key' | 'identity-provider';
}

export interface List<T> {
  data: T[];
}
