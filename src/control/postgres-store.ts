import pg from 'pg';
import { createControlService } from './control-service.js';
import { scopeSql, type ControlStore, type LatencySummary, type LedgerRow, type LedgerScope } from './control-store.js';
import { LEDGER, LEDGER_COLUMN_LIST } from './ledger-columns.js';
import { PG_MIGRATIONS } from './postgres-migrations.js';
import { redactUrl } from './redact-url.js';
import type { ReportGroup, ReportRow } from './records.js';
import type { SqlPort } from './sql-port.js';
import { StoreError } from './store-errors.js';

const DAY = 86_400_000;
const CHANNEL = 'bedrock_claude_keys';

/** `?schema=NAME` on the URL picks the schema (tests use one each); it is ours, not the driver's. */
function splitSchema(url: string): { url: string; schema: string | undefined } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // Node's own error carries the whole input, password and all: never shown.
    throw new Error('the database URL does not parse: write it as postgres://USER:PASSWORD@HOST:5432/DATABASE');
  }
  const schema = u.searchParams.get('schema') ?? undefined;
  u.searchParams.delete('schema');
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
    throw new Error(`schema "${schema}": use lower-case letters, digits and _ (a PostgreSQL name)`);
  return { url: u.toString(), schema };
}

/** The URL and schema, or the store's own error (never Node's, which carries the whole input). */
function parsedUrl(databaseUrl: string): ReturnType<typeof splitSchema> {
  try {
    return splitSchema(databaseUrl);
  } catch (err) {
    throw new StoreError('unavailable', `PostgreSQL: ${(err as Error).message}`);
  }
}

// int8 (counts and ms) and numeric (sums of them) as numbers: every value here is far below 2^53.
const AS_NUMBER = new Set([20, 1700]);
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    AS_NUMBER.has(oid)
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** The daily totals' groups (a session and the client's spelling of a model are the ledger's alone). */
const GROUP_DAILY: Record<Exclude<ReportGroup, 'session' | 'client-model'>, string> = {
  key: "NULLIF(key_name, '')",
  user: `NULLIF("user", '')`,
  team: "NULLIF(team, '')",
  model: "NULLIF(model, '')",
  day: "to_char(to_timestamp(day / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
};
const GROUP_LEDGER: Record<ReportGroup, string> = {
  key: 'key_name',
  user: '"user"',
  team: 'team',
  model: 'model',
  'client-model': 'client_model',
  day: "to_char(to_timestamp(time / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
  session: 'session',
};

/**
 * One statement for a batch: the rows go in as one array per column (a multi-row insert whatever
 * the batch size), a request id already there is skipped, and only the rows that were new are added
 * to the daily totals, in the same transaction. So a batch replayed after an outage or a crash
 * changes nothing it wrote before. The daily rows are locked in their key order (no deadlock
 * between replicas writing at once).
 */
const APPEND_SQL = `
WITH input AS (
  SELECT * FROM unnest(${LEDGER.map((c, i) => `$${i + 1}::${c.postgres}[]`).join(', ')})
    AS t(${LEDGER_COLUMN_LIST})
), new AS (
  INSERT INTO ledger (${LEDGER_COLUMN_LIST}) SELECT * FROM input ON CONFLICT (request_id) DO NOTHING RETURNING *
), daily AS (
  INSERT INTO ledger_daily (day, key_id, key_name, "user", team, model, requests, errors,
    input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cost_usd)
  SELECT time - time % ${DAY}, coalesce(key_id, ''), coalesce(key_name, ''), coalesce("user", ''), coalesce(team, ''),
    coalesce(model, ''), count(*), count(*) FILTER (WHERE status >= 400), sum(input_tokens), sum(output_tokens),
    sum(cache_read_tokens), sum(cache_write_5m_tokens), sum(cache_write_1h_tokens), sum(cost_usd)
  FROM new GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
  ON CONFLICT (day, key_id, key_name, "user", team, model) DO UPDATE SET
    requests = ledger_daily.requests + excluded.requests, errors = ledger_daily.errors + excluded.errors,
    input_tokens = ledger_daily.input_tokens + excluded.input_tokens,
    output_tokens = ledger_daily.output_tokens + excluded.output_tokens,
    cache_read_tokens = ledger_daily.cache_read_tokens + excluded.cache_read_tokens,
    cache_write_5m_tokens = ledger_daily.cache_write_5m_tokens + excluded.cache_write_5m_tokens,
    cache_write_1h_tokens = ledger_daily.cache_write_1h_tokens + excluded.cache_write_1h_tokens,
    cost_usd = ledger_daily.cost_usd + excluded.cost_usd
  RETURNING 1
)
SELECT count(*)::int AS added FROM new`;

const SUMS =
  `sum(requests)::float8 AS requests, sum(errors)::float8 AS errors, sum(input_tokens)::float8 AS ` +
  `"inputTokens", sum(output_tokens)::float8 AS "outputTokens", sum(cache_read_tokens)::float8 AS "cacheReadTokens", ` +
  `sum(cache_write_5m_tokens)::float8 AS "cacheWrite5mTokens", sum(cache_write_1h_tokens)::float8 AS ` +
  `"cacheWrite1hTokens", sum(cost_usd)::float8 AS "costUsd"`;

/** The whole UTC days inside `[since, until)`, and the parts of days before and after them. */
function splitRange(since: number, until: number): { days?: [number, number]; edges: Array<[number, number]> } {
  const first = Math.ceil(since / DAY) * DAY;
  const last = Math.floor(until / DAY) * DAY;
  if (first >= last) return { edges: [[since, until]] };
  return {
    days: [first, last],
    edges: [
      [since, first],
      [last, until],
    ].filter(([a, b]) => a! < b!) as Array<[number, number]>,
  };
}

/** `?` parameters numbered as PostgreSQL wants them (`$1`, `$2`, ...); our SQL has no `?` in a literal. */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

// Connection failures, a server shutting down, no resources: the store is away, not the request wrong.
const UNAVAILABLE_CLASSES = ['08', '53', '57'];

/** A pool as a SQL port. A unique key taken is the caller's to name; the server away is `unavailable`. */
function postgresPort(pool: pg.Pool, where: string): SqlPort {
  const texts = new Map<string, string>();
  const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === '23505';
  async function exec(sql: string, params: readonly unknown[]): Promise<pg.QueryResult> {
    let text = texts.get(sql);
    if (text === undefined) texts.set(sql, (text = numbered(sql)));
    try {
      return await pool.query(text, params as unknown[]);
    } catch (err) {
      if (isUniqueViolation(err)) throw err;
      // A five-character SQLSTATE is the server's answer; anything else (ECONNREFUSED, a timeout) is the network.
      const code = (err as { code?: string }).code ?? '';
      const away = !/^[0-9A-Z]{5}$/.test(code) || UNAVAILABLE_CLASSES.includes(code.slice(0, 2));
      const message = `PostgreSQL at ${where}: ${(err as Error).message}`;
      throw away ? new StoreError('unavailable', message, { cause: err }) : new Error(message, { cause: err });
    }
  }
  return {
    dialect: 'postgres',
    all: async <T>(sql: string, params: readonly unknown[] = []) => (await exec(sql, params)).rows as T[],
    one: async <T>(sql: string, params: readonly unknown[] = []) => (await exec(sql, params)).rows[0] as T | undefined,
    run: async (sql, params = []) => (await exec(sql, params)).rowCount ?? 0,
    isUniqueViolation,
  };
}

/**
 * The ledger's SQL on PostgreSQL: batches by arrays, reports and spend from the daily totals where whole days allow.
 */
function postgresLedger(pool: pg.Pool, port: SqlPort) {
  return {
    async appendLedger(rows: readonly LedgerRow[]): Promise<number> {
      if (!rows.length) return 0;
      const columns = LEDGER.map((c) => rows.map((r) => r[c.field]));
      return (await port.one<{ added: number }>(APPEND_SQL, columns))!.added;
    },
    report: (by: ReportGroup, since: number, until: number, scope?: LedgerScope) =>
      port.all<ReportRow>(...reportSql(by, since, until, scope)),
    spentSince: async (kind: 'key' | 'team', id: string, since: number) =>
      (await port.one<{ spent: number }>(...spentSql(kind, id, since)))?.spent ?? 0,
    async latency(since: number, until: number): Promise<LatencySummary> {
      const p = (q: number, column: string) => `percentile_disc(${q}) WITHIN GROUP (ORDER BY ${column})`;
      const sql = `SELECT count(*)::int AS requests,
        ${p(0.5, 'latency_ms')} AS "p50LatencyMs", ${p(0.95, 'latency_ms')} AS "p95LatencyMs",
        ${p(0.5, 'ttfb_ms')} AS "p50TtfbMs", ${p(0.95, 'ttfb_ms')} AS "p95TtfbMs"
        FROM ledger WHERE time >= ? AND time < ?`;
      return (await port.one<LatencySummary>(sql, [since, until]))!;
    },
    prune: (until: number) => pruneWholeDays(pool, until),
  };
}

/** A report's SQL: the daily totals for whole UTC days, the ledger's rows for the edges. */
function reportSql(by: ReportGroup, since: number, until: number, scope?: LedgerScope): [string, unknown[]] {
  const ledgerOnly = by === 'session' || by === 'client-model';
  const whole = ledgerOnly ? { edges: [[since, until]] as Array<[number, number]> } : splitRange(since, until);
  const parts: string[] = [];
  const params: unknown[] = [];
  // The daily totals hold '' for no team or user, which no scope names.
  const only = scopeSql(scope);
  const cols = 'input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cost_usd';
  if (whole.days) {
    params.push(...whole.days, ...only.params);
    const group = GROUP_DAILY[by as Exclude<ReportGroup, 'session' | 'client-model'>];
    parts.push(
      `SELECT ${group} AS g, requests, errors, ${cols} FROM ledger_daily WHERE day >= ? AND day < ?${only.sql}`,
    );
  }
  for (const edge of whole.edges) {
    params.push(...edge, ...only.params);
    parts.push(
      `SELECT ${GROUP_LEDGER[by]} AS g, 1 AS requests, (status >= 400)::int AS errors, ${cols} FROM ledger WHERE ` +
        `time >= ? AND time < ?${only.sql}`,
    );
  }
  const sql =
    `SELECT g AS "group", ${SUMS} FROM (${parts.join(' UNION ALL ')}) x GROUP BY 1 ORDER BY "costUsd" ` +
    `DESC, 1 NULLS FIRST`;
  return [sql, params];
}

/** What a key or team spent since a time: whole days from the daily totals, the edge from the rows. */
function spentSql(kind: 'key' | 'team', id: string, since: number): [string, unknown[]] {
  const { days, edges } = splitRange(since, Number.MAX_SAFE_INTEGER);
  const column = kind === 'key' ? 'key_id' : 'team';
  const parts = edges.map(
    () => `SELECT coalesce(sum(cost_usd), 0) AS s FROM ledger WHERE ${column} = ? AND time >= ? AND time < ?`,
  );
  const params: unknown[] = edges.flatMap(([a, b]) => [id, a, b]);
  if (days) {
    params.push(id, days[0]);
    parts.push(`SELECT coalesce(sum(cost_usd), 0) FROM ledger_daily WHERE ${column} = ? AND day >= ?`);
  }
  if (kind === 'team') {
    // Signed-in people's rows where it is one of their other teams (the daily totals count only the first).
    params.push(JSON.stringify(id), since);
    parts.push('SELECT coalesce(sum(cost_usd), 0) FROM ledger WHERE strpos(teams, ?) > 0 AND time >= ?');
  }
  return [`SELECT sum(s)::float8 AS spent FROM (${parts.join(' UNION ALL ')}) x`, params];
}

/** Prunes by whole UTC days, so that the daily totals and the rows they count go together. */
async function pruneWholeDays(pool: pg.Pool, until: number): Promise<number> {
  const before = Math.floor(until / DAY) * DAY;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const n = (await client.query('DELETE FROM ledger WHERE time < $1', [before])).rowCount ?? 0;
    await client.query('DELETE FROM ledger_daily WHERE day + $2 <= $1', [before, DAY]);
    await client.query('COMMIT');
    return n;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Calls the listeners when any replica changes a key or a team: LISTEN on a connection of its own,
 * made again a second after it breaks; what changed meanwhile is picked up by the caller's poll.
 */
function keyChanges(connection: pg.ClientConfig, schema: string, onError: ((err: Error) => void) | undefined) {
  const listeners: Array<() => void> = [];
  let listener: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  async function listen(): Promise<void> {
    const client = new pg.Client(connection);
    client.on('error', (err) => onError?.(err));
    client.on('end', () => {
      if (listener === client) listener = undefined;
      if (!closed) retry = setTimeout(() => void listen(), 1000);
    });
    client.on('notification', (n) => {
      if (n.channel === CHANNEL && n.payload === schema) for (const f of listeners) f();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      listener = client;
      for (const f of listeners) f();
    } catch {
      await client.end().catch(() => undefined);
    }
  }
  return {
    watch(f: () => void) {
      listeners.push(f);
      if (listeners.length === 1) void listen();
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      await listener?.end().catch(() => undefined);
    },
  };
}

/**
 * The control-plane store on PostgreSQL, for several replicas: keys and teams, the ledger (batched,
 * idempotent inserts and daily totals) and its reports. Its schema is migrated at open, under an
 * advisory lock, so replicas starting together migrate once. A key or team change is announced with
 * NOTIFY; `watch` LISTENs (and reconnects after an outage).
 *
 * @example
 * ```ts
 * const store = await openPostgresControlStore('postgres://gateway@db.internal/bedrock_claude');
 * await store.createKey({ name: 'alice-laptop', budget: { usd: 50, period: 'month' } }, Date.now());
 * ```
 */
export async function openPostgresControlStore(
  databaseUrl: string,
  options: { onError?: (err: Error) => void; max?: number; clock?: () => number } = {},
): Promise<ControlStore & { schema: string }> {
  const { url, schema: wanted } = parsedUrl(databaseUrl);
  const where = redactUrl(databaseUrl);
  const schema = wanted ?? 'public';
  const connection: pg.ClientConfig = { connectionString: url, types, connectionTimeoutMillis: 5000 };
  if (wanted) connection.options = `-c search_path=${wanted}`;
  const pool = new pg.Pool(Object.assign({ max: options.max ?? 10, idleTimeoutMillis: 30_000 }, connection));
  // An idle connection that breaks (the server restarted) is an event, not a crash: the pool makes a new one.
  pool.on('error', (err) => options.onError?.(err));

  await migrate(pool, wanted, options.clock ?? Date.now).catch(async (err: unknown) => {
    await pool.end().catch(() => undefined);
    throw new StoreError('unavailable', `PostgreSQL at ${where}: ${(err as Error).message}`, { cause: err });
  });
  const port = postgresPort(pool, where);
  const changes = keyChanges(connection, schema, options.onError);
  const service = createControlService({
    where,
    port,
    ledger: postgresLedger(pool, port),
    watch: changes.watch,
    async close() {
      await changes.close();
      await pool.end();
    },
  });
  return Object.assign(service, { schema });
}

/**
 * Brings the schema up to date in one transaction, under an advisory lock: a replica that comes
 * second waits, then finds the steps done.
 */
async function migrate(pool: pg.Pool, schema: string | undefined, clock: () => number): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query("SELECT pg_advisory_xact_lock(hashtext('bedrock-claude migrations'))");
    if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query('CREATE TABLE IF NOT EXISTS migrations (version integer PRIMARY KEY, applied bigint NOT NULL)');
    const done = (await client.query<{ v: number | null }>('SELECT max(version) AS v FROM migrations')).rows[0]?.v ?? 0;
    if (done > PG_MIGRATIONS.length)
      throw new Error(
        `the database has schema version ${done}, newer than this bedrock-claude knows (${PG_MIGRATIONS.length}): ` +
          `upgrade bedrock-claude`,
      );
    for (let v = done; v < PG_MIGRATIONS.length; v++) {
      await client.query(PG_MIGRATIONS[v]!);
      await client.query('INSERT INTO migrations (version, applied) VALUES ($1, $2)', [v + 1, clock()]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
