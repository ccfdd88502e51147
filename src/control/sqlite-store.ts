import { accessSync, constants, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createControlService } from './control-service.js';
import { scopeSql, type ControlStore, type LatencySummary, type LedgerRow } from './control-store.js';
import { LEDGER_COLUMN_LIST, LEDGER, ledgerValues } from './ledger-columns.js';
import { MIGRATIONS } from './migrations.js';
import type { ReportGroup, ReportRow } from './records.js';
import type { SqlPort } from './sql-port.js';
import { StoreError } from './store-errors.js';

const GROUP_SQL: Record<ReportGroup, string> = {
  key: 'key_name',
  user: '"user"',
  team: 'team',
  model: 'model',
  'client-model': 'client_model',
  day: "strftime('%Y-%m-%d', time / 1000, 'unixepoch')",
  session: 'session',
};

/**
 * The ledger's insert, with positional parameters in table order (binding named ones per row cost a third of the
 * write).
 */
export const LEDGER_INSERT_SQL =
  `INSERT OR IGNORE INTO ledger (${LEDGER_COLUMN_LIST}) VALUES ` + `(${LEDGER.map(() => '?').join(', ')})`;

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
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    const fix = 'pass --data-dir DIR, set dataDir in the config or BEDROCK_CLAUDE_DATA_DIR';
    throw new StoreError('unavailable', `the data directory ${dataDir} cannot be written (${why}): ${fix}`, {
      cause: err,
    });
  }
}

/** Opens the database in a data directory and brings its schema up to date. */
function openDatabase(dataDir: string): Database.Database {
  prepareDir(dataDir);
  const db = new Database(storePath(dataDir));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    db.close();
    const fix = 'upgrade bedrock-claude, or point --data-dir elsewhere';
    throw new StoreError(
      'unavailable',
      `the store in ${dataDir} has schema version ${version}, newer than this bedrock-claude knows ` +
        `(${MIGRATIONS.length}): ${fix}`,
    );
  }
  db.transaction(() => {
    for (let v = version; v < MIGRATIONS.length; v++) {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }
  }).immediate();
  return db;
}

const UNIQUE = new Set(['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY']);

/** SQLite as a SQL port: statements prepared once and kept, errors other than a unique key as `unavailable`. */
function sqlitePort(db: Database.Database, where: string): SqlPort {
  const statements = new Map<string, Database.Statement>();
  const prepared = (sql: string) => {
    let s = statements.get(sql);
    if (!s) statements.set(sql, (s = db.prepare(sql)));
    return s;
  };
  const isUniqueViolation = (err: unknown) => UNIQUE.has((err as { code?: string }).code ?? '');
  const attempt = <T>(f: () => T): Promise<T> => {
    try {
      return Promise.resolve(f());
    } catch (err) {
      if (isUniqueViolation(err)) return Promise.reject(err as Error);
      return Promise.reject(
        new StoreError('unavailable', `the store in ${where}: ${(err as Error).message}`, { cause: err }),
      );
    }
  };
  return {
    dialect: 'sqlite',
    all: <T>(sql: string, params: readonly unknown[] = []) => attempt(() => prepared(sql).all(...params) as T[]),
    one: <T>(sql: string, params: readonly unknown[] = []) =>
      attempt(() => prepared(sql).get(...params) as T | undefined),
    run: (sql, params = []) => attempt(() => prepared(sql).run(...params).changes),
    isUniqueViolation,
  };
}

/** Latency percentiles (nearest rank) of the requests in a range: an index read per percentile. */
function latency(db: Database.Database, since: number, until: number): LatencySummary {
  const n = db
    .prepare<[number, number], { n: number }>('SELECT count(*) AS n FROM ledger WHERE time >= ? AND time < ?')
    .get(since, until)!.n;
  const nth = (column: 'latency_ms' | 'ttfb_ms', p: number): number | null => {
    const range = `FROM ledger WHERE time >= ? AND time < ? AND ${column} IS NOT NULL`;
    const count = db.prepare<[number, number], { n: number }>(`SELECT count(*) AS n ${range}`).get(since, until)!.n;
    if (!count) return null;
    const offset = Math.max(0, Math.ceil(p * count) - 1);
    return db
      .prepare<[number, number, number], { v: number }>(
        `SELECT ${column} AS v ${range} ORDER BY ${column} LIMIT 1 OFFSET ?`,
      )
      .get(since, until, offset)!.v;
  };
  return {
    requests: n,
    p50LatencyMs: nth('latency_ms', 0.5),
    p95LatencyMs: nth('latency_ms', 0.95),
    p50TtfbMs: nth('ttfb_ms', 0.5),
    p95TtfbMs: nth('ttfb_ms', 0.95),
  };
}

const SUMS = `count(*) AS requests, sum(CASE WHEN status >= 400 THEN 1 ELSE 0 END) AS errors,
  sum(input_tokens) AS "inputTokens", sum(output_tokens) AS "outputTokens", sum(cache_read_tokens) AS "cacheReadTokens",
  sum(cache_write_5m_tokens) AS "cacheWrite5mTokens", sum(cache_write_1h_tokens) AS "cacheWrite1hTokens",
  sum(cost_usd) AS "costUsd"`;

/**
 * The embedded control-plane store: SQLite (better-sqlite3, WAL) in a data directory, its schema
 * migrated at open. better-sqlite3 is synchronous; the gateway reads keys from a cache of its own
 * and writes the ledger from a thread of its own (`createLedgerWriterThread`), off the request path.
 *
 * @example
 * ```ts
 * const store = openSqliteControlStore('/var/lib/bedrock-claude');
 * const { key, record } = await store.createKey({ name: 'alice-laptop', user: 'alice', budget: { usd: 50, period:
 * 'month' } }, Date.now());
 * ```
 */
export function openSqliteControlStore(dataDir: string): ControlStore {
  const db = openDatabase(dataDir);
  const port = sqlitePort(db, dataDir);
  const insert = db.prepare(LEDGER_INSERT_SQL);
  const appendMany = db.transaction((rows: readonly LedgerRow[]) => {
    let added = 0;
    for (const r of rows) added += insert.run(ledgerValues(r)).changes;
    return added;
  });
  return createControlService({
    where: dataDir,
    port,
    ledger: {
      appendLedger: async (rows) => appendMany(rows),
      report(by, since, until, scope) {
        const only = scopeSql(scope);
        const sql =
          `SELECT ${GROUP_SQL[by]} AS "group", ${SUMS} FROM ledger WHERE time >= ? AND time < ?${only.sql} ` +
          `GROUP BY 1 ORDER BY "costUsd" DESC, 1`;
        return port.all<ReportRow>(sql, [since, until, ...only.params]);
      },
      async spentSince(kind, id, since) {
        // A team's spend: its own rows, and signed-in people's rows where it is one of their other teams.
        const whose = kind === 'key' ? 'key_id = ?' : '(team = ? OR instr(teams, ?) > 0)';
        const params = kind === 'key' ? [id, since] : [id, JSON.stringify(id), since];
        const sql = `SELECT sum(cost_usd) AS spent FROM ledger WHERE ${whose} AND time >= ?`;
        return (await port.one<{ spent: number | null }>(sql, params))?.spent ?? 0;
      },
      latency: async (since, until) => latency(db, since, until),
      prune: (before) => port.run('DELETE FROM ledger WHERE time < ?', [before]),
    },
    close: async () => void db.close(),
  });
}
