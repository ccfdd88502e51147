import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createGatewayKey } from '../server/gateway-keys.js';
import type { ControlStore, LatencySummary, LedgerRow, RequestFilter, SeriesGroup, SeriesRow } from './control-store.js';
import { PG_MIGRATIONS } from './postgres-migrations.js';
import { redactUrl } from './redact-url.js';
import type { KeyChange, KeyInput, KeyRecord, ReportGroup, ReportRow, TeamChange, TeamInput, TeamRecord } from './records.js';
import { keyOf, LEDGER_COLUMNS, ledgerRowOf, ledgerValues, settings, teamOf, type KeyRow, type TeamRow } from './store-rows.js';

const DAY = 86_400_000;
const CHANNEL = 'bedrock_claude_keys';


/** `?schema=NAME` on the URL picks the schema (tests use one each); it is ours, not the driver's. */
function splitSchema(url: string): { url: string; schema: string | undefined } {
  const u = new URL(url);
  const schema = u.searchParams.get('schema') ?? undefined;
  u.searchParams.delete('schema');
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`schema "${schema}": use lower-case letters, digits and _ (a PostgreSQL name)`);
  return { url: u.toString(), schema };
}

// int8 (counts and ms) as numbers: every value here is far below 2^53.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser,
};

const GROUP_DAILY: Record<Exclude<ReportGroup, 'session'>, string> = {
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
  day: "to_char(to_timestamp(time / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
  session: 'session',
};

const PG_TYPES = ['text', 'int8', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'int4', 'text', 'text', 'bool', 'int8', 'int8', 'int8', 'int8', 'int8', 'float8', 'float8', 'float8', 'text'];
const quoted = (c: string) => (c === 'user' ? '"user"' : c);

/**
 * One statement for a batch: the rows go in as one array per column (a multi-row insert whatever
 * the batch size), a request id already there is skipped, and only the rows that were new are added
 * to the daily totals, in the same transaction. So a batch replayed after an outage or a crash
 * changes nothing it wrote before. The daily rows are locked in their key order (no deadlock
 * between replicas writing at once).
 */
const APPEND_SQL = `
WITH input AS (
  SELECT * FROM unnest(${PG_TYPES.map((t, i) => `$${i + 1}::${t}[]`).join(', ')}) AS t(${LEDGER_COLUMNS.map(quoted).join(', ')})
), new AS (
  INSERT INTO ledger (${LEDGER_COLUMNS.map(quoted).join(', ')}) SELECT * FROM input ON CONFLICT (request_id) DO NOTHING RETURNING *
), daily AS (
  INSERT INTO ledger_daily (day, key_id, key_name, "user", team, model, requests, errors, input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cost_usd)
  SELECT time - time % ${DAY}, coalesce(key_id, ''), coalesce(key_name, ''), coalesce("user", ''), coalesce(team, ''), coalesce(model, ''),
    count(*), count(*) FILTER (WHERE status >= 400), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), sum(cache_write_5m_tokens), sum(cache_write_1h_tokens), sum(cost_usd)
  FROM new GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
  ON CONFLICT (day, key_id, key_name, "user", team, model) DO UPDATE SET
    requests = ledger_daily.requests + excluded.requests, errors = ledger_daily.errors + excluded.errors,
    input_tokens = ledger_daily.input_tokens + excluded.input_tokens, output_tokens = ledger_daily.output_tokens + excluded.output_tokens,
    cache_read_tokens = ledger_daily.cache_read_tokens + excluded.cache_read_tokens,
    cache_write_5m_tokens = ledger_daily.cache_write_5m_tokens + excluded.cache_write_5m_tokens,
    cache_write_1h_tokens = ledger_daily.cache_write_1h_tokens + excluded.cache_write_1h_tokens,
    cost_usd = ledger_daily.cost_usd + excluded.cost_usd
  RETURNING 1
)
SELECT count(*)::int AS added FROM new`;

const SUMS = `count(*)::float8 AS requests, sum(errors)::float8 AS errors, sum(input_tokens)::float8 AS "inputTokens", sum(output_tokens)::float8 AS "outputTokens", sum(cache_read_tokens)::float8 AS "cacheReadTokens", sum(cache_write_5m_tokens)::float8 AS "cacheWrite5mTokens", sum(cache_write_1h_tokens)::float8 AS "cacheWrite1hTokens", sum(cost_usd)::float8 AS "costUsd"`;

/** The whole UTC days inside `[since, until)`, and the parts of days before and after them. */
function splitRange(since: number, until: number): { days?: [number, number]; edges: Array<[number, number]> } {
  const first = Math.ceil(since / DAY) * DAY;
  const last = Math.floor(until / DAY) * DAY;
  if (first >= last) return { edges: [[since, until]] };
  return { days: [first, last], edges: [[since, first], [last, until]].filter(([a, b]) => a! < b!) as Array<[number, number]> };
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
export async function openPostgresControlStore(databaseUrl: string, options: { onError?: (err: Error) => void; max?: number } = {}): Promise<ControlStore & { schema: string }> {
  const { url, schema: wanted } = splitSchema(databaseUrl);
  const where = redactUrl(databaseUrl);
  const schema = wanted ?? 'public';
  const connection = { connectionString: url, types, connectionTimeoutMillis: 5000, ...(wanted ? { options: `-c search_path=${wanted}` } : {}) };
  const pool = new pg.Pool({ ...connection, max: options.max ?? 10, idleTimeoutMillis: 30_000 });
  // An idle connection that breaks (the server restarted) is an event, not a crash: the pool makes a new one.
  pool.on('error', (err) => options.onError?.(err));

  await migrate(pool, wanted).catch(async (err: unknown) => {
    await pool.end().catch(() => undefined);
    throw new Error(`PostgreSQL at ${where}: ${(err as Error).message}`, { cause: err });
  });

  const one = async <T>(sql: string, params: unknown[] = []): Promise<T | undefined> => (await pool.query(sql, params)).rows[0] as T | undefined;
  const all = async <T>(sql: string, params: unknown[] = []): Promise<T[]> => (await pool.query(sql, params)).rows as T[];

  async function needKey(idOrName: string): Promise<KeyRow> {
    const row = await one<KeyRow>('SELECT * FROM keys WHERE id = $1 OR name = $1', [idOrName]);
    if (!row) throw new Error(`no key "${idOrName}" (bedrock-claude keys list shows them)`);
    return row;
  }
  async function needTeam(name: string | null | undefined): Promise<void> {
    if (name && !(await one('SELECT 1 FROM teams WHERE name = $1', [name]))) throw new Error(`no team "${name}": create it first (bedrock-claude teams create ${name})`);
  }
  async function update(table: 'keys' | 'teams', where: string, value: string, columns: Record<string, unknown>): Promise<void> {
    const names = Object.keys(columns);
    if (!names.length) return;
    await pool.query(`UPDATE ${table} SET ${names.map((n, i) => `${quoted(n)} = $${i + 2}`).join(', ')} WHERE ${where} = $1`, [value, ...names.map((n) => columns[n])]);
  }
  const unique = (err: unknown, message: string) => {
    if ((err as { code?: string }).code === '23505') throw new Error(message, { cause: err });
    throw err;
  };

  const listeners: Array<() => void> = [];
  let listener: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  async function listen(): Promise<void> {
    const client = new pg.Client(connection);
    client.on('error', (err) => options.onError?.(err));
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
      // Whatever changed while not listening is picked up by the key cache's poll, and now:
      for (const f of listeners) f();
    } catch {
      await client.end().catch(() => undefined);
    }
  }

  return {
    where,
    schema,
    changes: async () => (await one<{ value: number }>("SELECT value FROM meta WHERE key = 'changes'"))!.value,
    watch(f) {
      listeners.push(f);
      if (listeners.length === 1) void listen();
    },

    async createKey(input: KeyInput, now: number): Promise<{ key: string; record: KeyRecord }> {
      await needTeam(input.team);
      const { key, entry } = createGatewayKey(input.name);
      const id = `key_${randomBytes(9).toString('base64url')}`;
      const row = Object.assign({ id, name: input.name, sha256: entry.sha256, user: input.user ?? null, team: input.team ?? null, created: now, expires: input.expires ?? null, revoked: null, models: input.models ? JSON.stringify(input.models) : null, budget_usd: null, budget_period: null, rpm: null, itpm: null, otpm: null, concurrency: null }, settings(input)) as Record<string, unknown>;
      const cols = Object.keys(row);
      await pool.query(`INSERT INTO keys (${cols.map(quoted).join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`, cols.map((c) => row[c])).catch((err: unknown) => unique(err, `a key named "${input.name}" exists already`));
      return { key, record: keyOf(await needKey(id)) };
    },
    listKeys: async () => (await all<KeyRow>('SELECT * FROM keys ORDER BY created, name')).map(keyOf),
    async findKey(idOrName) {
      const row = await one<KeyRow>('SELECT * FROM keys WHERE id = $1 OR name = $1', [idOrName]);
      return row && keyOf(row);
    },
    async updateKey(idOrName: string, change: KeyChange) {
      const row = await needKey(idOrName);
      await needTeam(change.team);
      const columns = settings(change);
      for (const k of ['name', 'user', 'team', 'expires'] as const) if (change[k] !== undefined) columns[k] = change[k];
      if (change.models !== undefined) columns['models'] = change.models === null ? null : JSON.stringify(change.models);
      await update('keys', 'id', row.id, columns).catch((err: unknown) => unique(err, `a key named "${String(change.name)}" exists already`));
      return keyOf(await needKey(row.id));
    },
    async revokeKey(idOrName, now) {
      const row = await needKey(idOrName);
      if (row.revoked === null) await update('keys', 'id', row.id, { revoked: now });
      return keyOf(await needKey(row.id));
    },
    async createTeam(input: TeamInput, now: number) {
      const row = Object.assign({ name: input.name, created: now, budget_usd: null, budget_period: null, rpm: null, itpm: null, otpm: null, concurrency: null }, settings(input)) as Record<string, unknown>;
      const cols = Object.keys(row);
      await pool.query(`INSERT INTO teams (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`, cols.map((c) => row[c])).catch((err: unknown) => unique(err, `a team named "${input.name}" exists already`));
      return teamOf((await one<TeamRow>('SELECT * FROM teams WHERE name = $1', [input.name]))!);
    },
    listTeams: async () => (await all<TeamRow>('SELECT * FROM teams ORDER BY name')).map(teamOf),
    async findTeam(name) {
      const row = await one<TeamRow>('SELECT * FROM teams WHERE name = $1', [name]);
      return row && teamOf(row);
    },
    async updateTeam(name: string, change: TeamChange): Promise<TeamRecord> {
      await needTeam(name);
      await update('teams', 'name', name, settings(change));
      return teamOf((await one<TeamRow>('SELECT * FROM teams WHERE name = $1', [name]))!);
    },
    async deleteTeam(name) {
      await needTeam(name);
      const team = teamOf((await one<TeamRow>('SELECT * FROM teams WHERE name = $1', [name]))!);
      const members = (await one<{ n: number }>('SELECT count(*)::int AS n FROM keys WHERE team = $1', [name]))!.n;
      if (members > 0) throw new Error(`the team "${name}" still has ${members} key(s): move them to another team or revoke them first (a conflict)`);
      await pool.query('DELETE FROM teams WHERE name = $1', [name]);
      return team;
    },

    async appendLedger(rows: readonly LedgerRow[]): Promise<number> {
      if (!rows.length) return 0;
      const columns: unknown[][] = LEDGER_COLUMNS.map(() => []);
      for (const r of rows) {
        const values = ledgerValues(r);
        values[18] = r.streamed as unknown as number;
        for (let i = 0; i < values.length; i++) columns[i]!.push(values[i]);
      }
      return (await one<{ added: number }>(APPEND_SQL, columns))!.added;
    },
    async report(by: ReportGroup, since: number, until: number): Promise<ReportRow[]> {
      const { days, edges } = by === 'session' ? { days: undefined, edges: [[since, until]] as Array<[number, number]> } : splitRange(since, until);
      const parts: string[] = [];
      const params: number[] = [];
      if (days) {
        params.push(days[0], days[1]);
        parts.push(`SELECT ${GROUP_DAILY[by as Exclude<ReportGroup, 'session'>]} AS g, requests, errors, input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cost_usd FROM ledger_daily WHERE day >= $${params.length - 1} AND day < $${params.length}`);
      }
      for (const [a, b] of edges) {
        params.push(a, b);
        parts.push(`SELECT ${GROUP_LEDGER[by]} AS g, 1 AS requests, (status >= 400)::int AS errors, input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cost_usd FROM ledger WHERE time >= $${params.length - 1} AND time < $${params.length}`);
      }
      const sql = `SELECT g AS "group", ${SUMS.replace('count(*)::float8', 'sum(requests)::float8')} FROM (${parts.join(' UNION ALL ')}) x GROUP BY 1 ORDER BY "costUsd" DESC, 1 NULLS FIRST`;
      return all<ReportRow>(sql, params);
    },
    async spentSince(kind, id, since) {
      const { days, edges } = splitRange(since, Number.MAX_SAFE_INTEGER);
      const column = kind === 'key' ? 'key_id' : 'team';
      const parts = edges.map((_, i) => `SELECT coalesce(sum(cost_usd), 0) AS s FROM ledger WHERE ${column} = $1 AND time >= $${i * 2 + 2} AND time < $${i * 2 + 3}`);
      const params: unknown[] = [id, ...edges.flat()];
      if (days) {
        params.push(days[0]);
        parts.push(`SELECT coalesce(sum(cost_usd), 0) FROM ledger_daily WHERE ${column} = $1 AND day >= $${params.length}`);
      }
      return (await one<{ spent: number }>(`SELECT sum(s)::float8 AS spent FROM (${parts.join(' UNION ALL ')}) x`, params))?.spent ?? 0;
    },
    async requests(filter: RequestFilter): Promise<LedgerRow[]> {
      const params: unknown[] = [filter.since, filter.until];
      const where = ['time >= $1', 'time < $2'];
      const add = (sql: (n: number) => string, ...values: unknown[]) => {
        params.push(...values);
        where.push(sql(params.length));
      };
      if (filter.key !== undefined) add((n) => `(key_id = $${n} OR key_name = $${n})`, filter.key);
      if (filter.model !== undefined) add((n) => `model = $${n}`, filter.model);
      if (filter.status !== undefined) add((n) => `status = $${n}`, filter.status);
      if (filter.user !== undefined) add((n) => `"user" = $${n}`, filter.user);
      if (filter.team !== undefined) add((n) => `team = $${n}`, filter.team);
      // Keyset pagination: the rows after the cursor's (time, request id), newest first.
      if (filter.after) add((n) => `(time, request_id) < ($${n - 1}, $${n})`, filter.after.time, filter.after.requestId);
      params.push(filter.limit);
      const rows = await all<Record<string, unknown>>(`SELECT * FROM ledger WHERE ${where.join(' AND ')} ORDER BY time DESC, request_id DESC LIMIT $${params.length}`, params);
      return rows.map(ledgerRowOf);
    },
    series: (by: SeriesGroup, since: number, until: number, stepMs: number) =>
      all<SeriesRow>(`SELECT time - time % $1 AS bucket, ${by === 'key' ? 'key_name' : quoted(by)} AS "group", count(*)::int AS requests, (count(*) FILTER (WHERE status >= 400))::int AS errors, sum(cost_usd)::float8 AS "costUsd" FROM ledger WHERE time >= $2 AND time < $3 GROUP BY 1, 2 ORDER BY 1, 2 NULLS FIRST`, [stepMs, since, until]),
    async latency(since: number, until: number): Promise<LatencySummary> {
      const r = await one<LatencySummary>(
        `SELECT count(*)::int AS requests, percentile_disc(0.5) WITHIN GROUP (ORDER BY latency_ms) AS "p50LatencyMs", percentile_disc(0.95) WITHIN GROUP (ORDER BY latency_ms) AS "p95LatencyMs",
           percentile_disc(0.5) WITHIN GROUP (ORDER BY ttfb_ms) AS "p50TtfbMs", percentile_disc(0.95) WITHIN GROUP (ORDER BY ttfb_ms) AS "p95TtfbMs" FROM ledger WHERE time >= $1 AND time < $2`,
        [since, until],
      );
      return r!;
    },
    async lastUsed() {
      const rows = await all<{ id: string; at: number | null }>('SELECT id, (SELECT max(time) FROM ledger WHERE key_id = keys.id) AS at FROM keys');
      return Object.fromEntries(rows.filter((r) => r.at !== null).map((r) => [r.id, r.at!]));
    },
    async prune(until) {
      // By whole UTC days, so that the daily totals and the rows they count go together.
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
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      await listener?.end().catch(() => undefined);
      await pool.end();
    },
  };
}

/**
 * Brings the schema up to date in one transaction, under an advisory lock: a replica that comes
 * second waits, then finds the steps done.
 */
async function migrate(pool: pg.Pool, schema: string | undefined): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query("SELECT pg_advisory_xact_lock(hashtext('bedrock-claude migrations'))");
    if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query('CREATE TABLE IF NOT EXISTS migrations (version integer PRIMARY KEY, applied bigint NOT NULL)');
    const done = (await client.query<{ v: number | null }>('SELECT max(version) AS v FROM migrations')).rows[0]?.v ?? 0;
    if (done > PG_MIGRATIONS.length) throw new Error(`the database has schema version ${done}, newer than this bedrock-claude knows (${PG_MIGRATIONS.length}): upgrade bedrock-claude`);
    for (let v = done; v < PG_MIGRATIONS.length; v++) {
      await client.query(PG_MIGRATIONS[v]!);
      await client.query('INSERT INTO migrations (version, applied) VALUES ($1, $2)', [v + 1, Date.now()]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
