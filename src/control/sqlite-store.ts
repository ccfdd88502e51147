import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createGatewayKey } from '../server/gateway-keys.js';
import { MIGRATIONS } from './migrations.js';
import type { ControlStore, LatencySummary, LedgerRow, RequestFilter, SeriesGroup, SeriesRow } from './control-store.js';
import type { KeyChange, KeyInput, KeyRecord, ReportGroup, ReportRow, TeamChange, TeamInput, TeamRecord } from './records.js';
import { keyOf, LEDGER_COLUMNS, ledgerRowOf, ledgerValues, settings, teamOf, type KeyRow, type TeamRow } from './store-rows.js';

export { LEDGER_COLUMNS, ledgerValues };

export type { LedgerRow, ReportGroup, ReportRow, RequestFilter };

const GROUP_SQL: Record<ReportGroup, string> = {
  key: 'key_name',
  user: 'user',
  team: 'team',
  model: 'model',
  day: "strftime('%Y-%m-%d', time / 1000, 'unixepoch')",
  session: 'session',
};

/** The ledger's insert, with positional parameters in LEDGER_COLUMNS order (binding 27 named ones per row cost a third of the write). */
export const LEDGER_INSERT_SQL = `INSERT OR IGNORE INTO ledger (${LEDGER_COLUMNS.join(', ')}) VALUES (${LEDGER_COLUMNS.map(() => '?').join(', ')})`;

function prepareInsert(db: Database.Database): Database.Statement {
  return db.prepare(LEDGER_INSERT_SQL);
}

function insertRow(insert: Database.Statement, r: LedgerRow): number {
  return insert.run(ledgerValues(r)).changes;
}

/** The store's file in a data directory. */
export function storePath(dataDir: string): string {
  return join(dataDir, 'control.db');
}

/** Says, as an Error a person can act on, why a data directory cannot hold the store. */
function prepareDir(dataDir: string): void {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    accessSync(dataDir, constants.W_OK);
  } catch (err) {
    throw new Error(`the data directory ${dataDir} cannot be written (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): pass --data-dir DIR, set dataDir in the config or BEDROCK_CLAUDE_DATA_DIR`, { cause: err });
  }
}

/**
 * The embedded control-plane store: SQLite (better-sqlite3, WAL) in a data directory, its schema
 * migrated at open. Keys and teams, and the ledger. Synchronous, as better-sqlite3 is; the gateway
 * reads keys from a cache of its own and writes the ledger in batches, off the request path.
 *
 * @example
 * ```ts
 * const store = openControlStore('/var/lib/bedrock-claude');
 * const { key, record } = store.createKey({ name: 'alice-laptop', user: 'alice', budget: { usd: 50, period: 'month' } }, Date.now());
 * ```
 */
export function openControlStore(dataDir: string) {
  prepareDir(dataDir);
  const db = new Database(storePath(dataDir));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    db.close();
    throw new Error(`the store in ${dataDir} has schema version ${version}, newer than this bedrock-claude knows (${MIGRATIONS.length}): upgrade bedrock-claude, or point --data-dir elsewhere`);
  }
  db.transaction(() => {
    for (let v = version; v < MIGRATIONS.length; v++) {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }
  }).immediate();

  const changesStmt = db.prepare<[], { value: number }>("SELECT value FROM meta WHERE key = 'changes'");
  const allKeys = db.prepare<[], KeyRow>('SELECT * FROM keys ORDER BY created, name');
  const keyBy = db.prepare<[string, string], KeyRow>('SELECT * FROM keys WHERE id = ? OR name = ?');
  const allTeams = db.prepare<[], TeamRow>('SELECT * FROM teams ORDER BY name');
  const teamBy = db.prepare<[string], TeamRow>('SELECT * FROM teams WHERE name = ?');
  const insertLedger = prepareInsert(db);
  const appendMany = db.transaction((rows: readonly LedgerRow[]) => {
    let added = 0;
    for (const r of rows) added += insertRow(insertLedger, r);
    return added;
  });

  function needKey(idOrName: string): KeyRow {
    const row = keyBy.get(idOrName, idOrName);
    if (!row) throw new Error(`no key "${idOrName}" (bedrock-claude keys list shows them)`);
    return row;
  }
  function needTeam(name: string | null | undefined): void {
    if (name && !teamBy.get(name)) throw new Error(`no team "${name}": create it first (bedrock-claude teams create ${name})`);
  }
  function update(table: 'keys' | 'teams', where: string, value: string, columns: Record<string, unknown>): void {
    const names = Object.keys(columns);
    if (!names.length) return;
    db.prepare(`UPDATE ${table} SET ${names.map((n) => `${n} = @${n}`).join(', ')} WHERE ${where} = @__where`).run(Object.assign({ __where: value }, columns));
  }

  return {
    dataDir,
    /** A number that changes whenever a key or a team does (the gateway polls it). */
    changes: (): number => changesStmt.get()!.value,

    createKey(input: KeyInput, now: number): { key: string; record: KeyRecord } {
      needTeam(input.team);
      const { key, entry } = createGatewayKey(input.name);
      const id = `key_${randomBytes(9).toString('base64url')}`;
      const row = Object.assign({ id, name: input.name, sha256: entry.sha256, user: input.user ?? null, team: input.team ?? null, created: now, expires: input.expires ?? null, revoked: null, models: input.models ? JSON.stringify(input.models) : null, budget_usd: null, budget_period: null, rpm: null, itpm: null, otpm: null, concurrency: null }, settings(input));
      try {
        db.prepare('INSERT INTO keys (id, name, sha256, user, team, created, expires, revoked, models, budget_usd, budget_period, rpm, itpm, otpm, concurrency) VALUES (@id, @name, @sha256, @user, @team, @created, @expires, @revoked, @models, @budget_usd, @budget_period, @rpm, @itpm, @otpm, @concurrency)').run(row);
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new Error(`a key named "${input.name}" exists already`, { cause: err });
        throw err;
      }
      return { key, record: keyOf(needKey(id)) };
    },
    listKeys: (): KeyRecord[] => allKeys.all().map(keyOf),
    findKey: (idOrName: string): KeyRecord | undefined => {
      const row = keyBy.get(idOrName, idOrName);
      return row && keyOf(row);
    },
    updateKey(idOrName: string, change: KeyChange): KeyRecord {
      const row = needKey(idOrName);
      needTeam(change.team);
      const columns = settings(change);
      for (const k of ['name', 'user', 'team', 'expires'] as const) if (change[k] !== undefined) columns[k] = change[k];
      if (change.models !== undefined) columns['models'] = change.models === null ? null : JSON.stringify(change.models);
      update('keys', 'id', row.id, columns);
      return keyOf(needKey(row.id));
    },
    revokeKey(idOrName: string, now: number): KeyRecord {
      const row = needKey(idOrName);
      if (row.revoked === null) update('keys', 'id', row.id, { revoked: now });
      return keyOf(needKey(row.id));
    },

    createTeam(input: TeamInput, now: number): TeamRecord {
      if (teamBy.get(input.name)) throw new Error(`a team named "${input.name}" exists already`);
      db.prepare('INSERT INTO teams (name, created, budget_usd, budget_period, rpm, itpm, otpm, concurrency) VALUES (@name, @created, @budget_usd, @budget_period, @rpm, @itpm, @otpm, @concurrency)').run(Object.assign({ name: input.name, created: now, budget_usd: null, budget_period: null, rpm: null, itpm: null, otpm: null, concurrency: null }, settings(input)));
      return teamOf(teamBy.get(input.name)!);
    },
    listTeams: (): TeamRecord[] => allTeams.all().map(teamOf),
    findTeam: (name: string): TeamRecord | undefined => {
      const row = teamBy.get(name);
      return row && teamOf(row);
    },
    updateTeam(name: string, change: TeamChange): TeamRecord {
      needTeam(name);
      update('teams', 'name', name, settings(change));
      return teamOf(teamBy.get(name)!);
    },

    /** Deletes a team no key belongs to (its keys must move or be revoked first). */
    deleteTeam(name: string): TeamRecord {
      needTeam(name);
      const team = teamOf(teamBy.get(name)!);
      const members = db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM keys WHERE team = ?').get(name)!.n;
      if (members > 0) throw new Error(`the team "${name}" still has ${members} key(s): move them to another team or revoke them first (a conflict)`);
      db.prepare('DELETE FROM teams WHERE name = ?').run(name);
      return team;
    },
    /** Appends ledger rows in one transaction; a request id already there is not written again. Answers how many were new. */
    appendLedger: (rows: readonly LedgerRow[]): number => appendMany(rows),
    /** Totals of the ledger rows in `[since, until)`, grouped. */
    report(by: ReportGroup, since: number, until: number): ReportRow[] {
      const group = GROUP_SQL[by];
      return db
        .prepare<[number, number], ReportRow>(
          `SELECT ${group} AS "group", COUNT(*) AS requests, SUM(status >= 400) AS errors, SUM(input_tokens) AS inputTokens, SUM(output_tokens) AS outputTokens,
             SUM(cache_read_tokens) AS cacheReadTokens, SUM(cache_write_5m_tokens) AS cacheWrite5mTokens, SUM(cache_write_1h_tokens) AS cacheWrite1hTokens, SUM(cost_usd) AS costUsd
           FROM ledger WHERE time >= ? AND time < ? GROUP BY 1 ORDER BY costUsd DESC, 1`,
        )
        .all(since, until);
    },
    /** What a key (by id) or a team spent from `since` on, by the ledger's rows. */
    spentSince(kind: 'key' | 'team', id: string, since: number): number {
      const column = kind === 'key' ? 'key_id' : 'team';
      return db.prepare<[string, number], { spent: number | null }>(`SELECT SUM(cost_usd) AS spent FROM ledger WHERE ${column} = ? AND time >= ?`).get(id, since)?.spent ?? 0;
    },
    /** Ledger rows, newest first. */
    requests(filter: RequestFilter): LedgerRow[] {
      const where = ['time >= @since', 'time < @until'];
      const params: Record<string, unknown> = { since: filter.since, until: filter.until, limit: filter.limit };
      if (filter.key !== undefined) {
        where.push('(key_id = @key OR key_name = @key)');
        params['key'] = filter.key;
      }
      for (const column of ['model', 'status', 'user', 'team'] as const) {
        if (filter[column] === undefined) continue;
        where.push(`${column} = @${column}`);
        params[column] = filter[column];
      }
      if (filter.after) {
        // Keyset pagination: the rows after the cursor's (time, request id), newest first.
        where.push('(time < @afterTime OR (time = @afterTime AND request_id < @afterId))');
        params['afterTime'] = filter.after.time;
        params['afterId'] = filter.after.requestId;
      }
      return db
        .prepare(`SELECT * FROM ledger WHERE ${where.join(' AND ')} ORDER BY time DESC, request_id DESC LIMIT @limit`)
        .all(params)
        .map((r) => ledgerRowOf(r as Record<string, unknown>));
    },
    /** Requests and spend per time bucket and group. */
    series(by: SeriesGroup, since: number, until: number, stepMs: number): SeriesRow[] {
      const group = by === 'key' ? 'key_name' : by;
      return db
        .prepare<[number, number, number], SeriesRow>(`SELECT time - time % ? AS bucket, ${group} AS "group", COUNT(*) AS requests, SUM(status >= 400) AS errors, SUM(cost_usd) AS costUsd FROM ledger WHERE time >= ? AND time < ? GROUP BY 1, 2 ORDER BY 1, 2`)
        .all(stepMs, since, until);
    },
    /** Latency percentiles (nearest rank) of the requests in a range. */
    latency(since: number, until: number): LatencySummary {
      const n = db.prepare<[number, number], { n: number }>('SELECT COUNT(*) AS n FROM ledger WHERE time >= ? AND time < ?').get(since, until)!.n;
      const nth = (column: 'latency_ms' | 'ttfb_ms', p: number): number | null => {
        const count = db.prepare<[number, number], { n: number }>(`SELECT COUNT(*) AS n FROM ledger WHERE time >= ? AND time < ? AND ${column} IS NOT NULL`).get(since, until)!.n;
        if (!count) return null;
        const offset = Math.max(0, Math.ceil(p * count) - 1);
        return db.prepare<[number, number, number], { v: number }>(`SELECT ${column} AS v FROM ledger WHERE time >= ? AND time < ? AND ${column} IS NOT NULL ORDER BY ${column} LIMIT 1 OFFSET ?`).get(since, until, offset)!.v;
      };
      return { requests: n, p50LatencyMs: nth('latency_ms', 0.5), p95LatencyMs: nth('latency_ms', 0.95), p50TtfbMs: nth('ttfb_ms', 0.5), p95TtfbMs: nth('ttfb_ms', 0.95) };
    },
    /** When each key was last used (an index read per key). */
    lastUsed(): Record<string, number> {
      const rows = db.prepare<[], { id: string; at: number | null }>('SELECT id, (SELECT MAX(time) FROM ledger WHERE key_id = keys.id) AS at FROM keys').all();
      return Object.fromEntries(rows.filter((r) => r.at !== null).map((r) => [r.id, r.at!]));
    },
    /** Deletes the ledger rows older than a time (retention); answers how many. */
    prune(before: number): number {
      return db.prepare('DELETE FROM ledger WHERE time < ?').run(before).changes;
    },
    close(): void {
      db.close();
    },
  };
}

export type SqliteStore = ReturnType<typeof openControlStore>;

/**
 * The embedded store behind the async {@link ControlStore} interface the gateway, the admin API and
 * the CLI use (the same calls as the PostgreSQL store's).
 */
export function openSqliteControlStore(dataDir: string): ControlStore {
  const s = openControlStore(dataDir);
  const later = <A extends unknown[], R>(f: (...args: A) => R) => (...args: A): Promise<R> => {
    try {
      return Promise.resolve(f(...args));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  };
  return {
    where: dataDir,
    changes: later(s.changes),
    createKey: later(s.createKey),
    listKeys: later(s.listKeys),
    findKey: later(s.findKey),
    updateKey: later(s.updateKey),
    revokeKey: later(s.revokeKey),
    createTeam: later(s.createTeam),
    listTeams: later(s.listTeams),
    findTeam: later(s.findTeam),
    updateTeam: later(s.updateTeam),
    deleteTeam: later(s.deleteTeam),
    appendLedger: later(s.appendLedger),
    report: later(s.report),
    spentSince: later(s.spentSince),
    requests: later(s.requests),
    series: later(s.series),
    latency: later(s.latency),
    lastUsed: later(s.lastUsed),
    prune: later(s.prune),
    close: later(s.close),
  };
}
