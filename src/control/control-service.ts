import { randomBytes } from 'node:crypto';
import {
  scopeSql,
  type ControlStore,
  type LedgerRow,
  type LedgerScope,
  type RequestFilter,
  type SeriesGroup,
  type SeriesRow,
} from './control-store.js';
import { deviceGrantCalls, revocationCalls, type DeviceGrantCalls } from './device-grants.js';
import { createGatewayKey } from './gateway-keys.js';
import { ledgerRowFromDb } from './ledger-columns.js';
import { peopleCalls, type PeopleCalls } from './people.js';
import { uiSessionCalls, type UiSessionCalls } from './ui-sessions.js';
import { keptResponseCalls, type KeptResponseCalls } from './kept-responses.js';
import { alertCalls, type AlertCalls } from './alert-calls.js';
import type { Actor, KeyChange, KeyInput, KeyRecord, TeamChange, TeamInput, TeamRecord } from './records.js';
import type { SqlPort } from './sql-port.js';
import { StoreError } from './store-errors.js';
import { roundUsd } from './budget.js';
import {
  keyOf,
  listColumns,
  newKeyRow,
  newTeamRow,
  settings,
  teamOf,
  type KeyRow,
  type TeamRow,
} from './store-rows.js';

/** What a dialect's store brings besides its SQL port: where it is, its ledger's own SQL, watching, closing. */
export interface DialectStore {
  readonly where: string;
  readonly port: SqlPort;
  /** The ledger calls whose SQL differs by dialect (batch inserts, daily totals, percentiles, day names). */
  readonly ledger: Pick<ControlStore, 'appendLedger' | 'report' | 'spentSince' | 'latency' | 'prune'>;
  watch?(listener: () => void): void;
  close(): Promise<void>;
}

const KEY_BY = 'SELECT * FROM keys WHERE id = ? OR name = ?';
const TEAM_BY = 'SELECT * FROM teams WHERE name = ?';

function insertSql(table: string, row: object): { sql: string; values: unknown[] } {
  const names = Object.keys(row);
  const columns = names.map((n) => `"${n}"`).join(', ');
  const sql = `INSERT INTO ${table} (${columns}) VALUES (${names.map(() => '?').join(', ')})`;
  return { sql, values: Object.values(row) };
}

async function needKey(port: SqlPort, idOrName: string): Promise<KeyRow> {
  const row = await port.one<KeyRow>(KEY_BY, [idOrName, idOrName]);
  if (!row) throw new StoreError('not_found', `no key "${idOrName}" (bedrock-claude keys list shows them)`);
  return row;
}

async function needTeam(port: SqlPort, name: string | null | undefined): Promise<TeamRow | undefined> {
  if (!name) return undefined;
  const row = await port.one<TeamRow>(TEAM_BY, [name]);
  if (!row)
    throw new StoreError('not_found', `no team "${name}": create it first (bedrock-claude teams create ${name})`);
  return row;
}

/** Runs a write; a unique key taken is a conflict that says which name. */
async function write(port: SqlPort, sql: string, values: readonly unknown[], taken: string): Promise<void> {
  try {
    await port.run(sql, values);
  } catch (err) {
    if (port.isUniqueViolation(err)) throw new StoreError('conflict', taken, { cause: err });
    throw err;
  }
}

async function update(
  port: SqlPort,
  target: { table: 'keys' | 'teams'; where: 'id' | 'name'; value: string },
  columns: Record<string, unknown>,
  taken = '',
): Promise<void> {
  const names = Object.keys(columns);
  if (!names.length) return;
  const sql = `UPDATE ${target.table} SET ${names.map((n) => `"${n}" = ?`).join(', ')} WHERE ${target.where} = ?`;
  await write(port, sql, [...names.map((n) => columns[n]), target.value], taken);
}

/** The keys table's row of an id, as `update` takes it. */
const key = (id: string) => ({ table: 'keys' as const, where: 'id' as const, value: id });

/** Keys: created with a secret kept only as its hash, found by id or name, changed, revoked once. */
function keyCalls(
  port: SqlPort,
  audit: PeopleCalls['audit'],
): Pick<ControlStore, 'createKey' | 'listKeys' | 'findKey' | 'updateKey' | 'revokeKey'> {
  return {
    async createKey(input: KeyInput, now: number, by?: Actor): Promise<{ key: string; record: KeyRecord }> {
      await needTeam(port, input.team);
      const { key: secret, entry } = createGatewayKey(input.name);
      const id = `key_${randomBytes(9).toString('base64url')}`;
      const { sql, values } = insertSql('keys', newKeyRow(input, id, entry.sha256, now));
      await write(port, sql, values, `a key named "${input.name}" exists already`);
      const record = keyOf(await needKey(port, id));
      await audit(by, 'key.create', id, null, record);
      return { key: secret, record };
    },
    listKeys: async () => (await port.all<KeyRow>('SELECT * FROM keys ORDER BY created, name')).map(keyOf),
    async findKey(idOrName) {
      const row = await port.one<KeyRow>(KEY_BY, [idOrName, idOrName]);
      return row && keyOf(row);
    },
    async updateKey(idOrName: string, change: KeyChange, by?: Actor) {
      const row = await needKey(port, idOrName);
      await needTeam(port, change.team);
      const columns = Object.assign(settings(change), listColumns(change));
      for (const k of ['name', 'user', 'team', 'expires'] as const) if (change[k] !== undefined) columns[k] = change[k];
      await update(port, key(row.id), columns, `a key named "${String(change.name)}" exists already`);
      const after = keyOf(await needKey(port, row.id));
      await audit(by, 'key.update', row.id, keyOf(row), after);
      return after;
    },
    async revokeKey(idOrName, now, by) {
      const row = await needKey(port, idOrName);
      if (row.revoked !== null) return keyOf(row);
      await update(port, key(row.id), { revoked: now });
      const after = keyOf(await needKey(port, row.id));
      await audit(by, 'key.revoke', row.id, keyOf(row), after);
      return after;
    },
  };
}

/** Keys rotated (a new secret, the old one for an overlap) and deleted (the ledger keeps their rows). */
function keyLifecycleCalls(port: SqlPort, audit: PeopleCalls['audit']): Pick<ControlStore, 'rotateKey' | 'deleteKey'> {
  return {
    async rotateKey(idOrName, now, overlapMs, by) {
      const row = await needKey(port, idOrName);
      if (row.revoked !== null)
        throw new StoreError('conflict', `the key "${row.name}" is revoked: create a new one instead`);
      const { key: secret, entry } = createGatewayKey(row.name);
      const overlap = overlapMs > 0;
      await update(port, key(row.id), {
        sha256: entry.sha256,
        rotated: now,
        previous_sha256: overlap ? row.sha256 : null,
        previous_until: overlap ? now + overlapMs : null,
      });
      const after = keyOf(await needKey(port, row.id));
      await audit(by, 'key.rotate', row.id, keyOf(row), after);
      return { key: secret, record: after };
    },
    async deleteKey(idOrName, by) {
      const row = await needKey(port, idOrName);
      await port.run('DELETE FROM keys WHERE id = ?', [row.id]);
      await audit(by, 'key.delete', row.id, keyOf(row), null);
      return keyOf(row);
    },
  };
}

/** Teams: created once by name, changed, deleted only when no key belongs to them. */
function teamCalls(
  port: SqlPort,
  audit: PeopleCalls['audit'],
): Pick<ControlStore, 'createTeam' | 'listTeams' | 'findTeam' | 'updateTeam' | 'deleteTeam'> {
  return {
    async createTeam(input: TeamInput, now: number, by?: Actor): Promise<TeamRecord> {
      const { sql, values } = insertSql('teams', newTeamRow(input, now));
      await write(port, sql, values, `a team named "${input.name}" exists already`);
      const record = teamOf((await needTeam(port, input.name))!);
      await audit(by, 'team.create', input.name, null, record);
      return record;
    },
    listTeams: async () => (await port.all<TeamRow>('SELECT * FROM teams ORDER BY name')).map(teamOf),
    async findTeam(name) {
      const row = await port.one<TeamRow>(TEAM_BY, [name]);
      return row && teamOf(row);
    },
    async updateTeam(name: string, change: TeamChange, by?: Actor) {
      const before = teamOf((await needTeam(port, name))!);
      const columns = Object.assign(settings(change), listColumns(change));
      await update(port, { table: 'teams', where: 'name', value: name }, columns);
      const after = teamOf((await needTeam(port, name))!);
      await audit(by, 'team.update', name, before, after);
      return after;
    },
    async deleteTeam(name, by) {
      const team = teamOf((await needTeam(port, name))!);
      const members = Number(
        (await port.one<{ n: number }>('SELECT count(*) AS n FROM keys WHERE team = ? AND revoked IS NULL', [name]))!.n,
      );
      if (members > 0) {
        const what = `the team "${name}" still has ${members} key(s)`;
        throw new StoreError('conflict', `${what}: move them to another team or revoke them first (a conflict)`);
      }
      // Revoked keys of the team keep working nowhere: they lose the name (their ledger rows keep it).
      await port.run('UPDATE keys SET team = NULL WHERE team = ? AND revoked IS NOT NULL', [name]);
      await port.run('DELETE FROM teams WHERE name = ?', [name]);
      await audit(by, 'team.delete', name, team, null);
      return team;
    },
  };
}

/**
 * The control plane's store, written once over a dialect's SQL port: keys and teams (their checks,
 * messages and ids), the ledger's listings, series and last use. The embedded store (SQLite) and
 * the shared one (PostgreSQL) differ only in their port, their ledger's own SQL and watching.
 * Errors are `StoreError`s: `not_found`, `conflict`, or `unavailable` from the port.
 */
export function createControlService(d: DialectStore): ControlStore {
  const { port } = d;
  type Written =
    | keyof ReturnType<typeof keyCalls>
    | keyof ReturnType<typeof keyLifecycleCalls>
    | keyof ReturnType<typeof teamCalls>
    | keyof DeviceGrantCalls
    | keyof PeopleCalls
    | keyof UiSessionCalls
    | keyof KeptResponseCalls
    | keyof AlertCalls;
  const rest: Omit<ControlStore, Written> = {
    where: d.where,
    changes: async () => (await port.one<{ value: number }>("SELECT value FROM meta WHERE key = 'changes'"))!.value,
    appendLedger: (rows) => d.ledger.appendLedger(rows),
    report: async (by, since, until, scope) =>
      (await d.ledger.report(by, since, until, scope)).map((r) => Object.assign(r, { costUsd: roundUsd(r.costUsd) })),
    spentSince: async (kind, id, since) => roundUsd(await d.ledger.spentSince(kind, id, since)),
    latency: (since, until) => d.ledger.latency(since, until),
    prune: (before) => d.ledger.prune(before),
    requests: (filter) => requests(port, filter),
    series: async (by, since, until, stepMs, scope) =>
      (await series(port, by, since, until, stepMs, scope)).map((r) =>
        Object.assign(r, { costUsd: roundUsd(r.costUsd) }),
      ),
    lastUsed: () => lastUsed(port),
    close: () => d.close(),
  };
  if (d.watch) rest.watch = (listener) => d.watch!(listener);
  const people = peopleCalls(port);
  return Object.assign(
    rest,
    keyCalls(port, people.audit),
    keyLifecycleCalls(port, people.audit),
    teamCalls(port, people.audit),
    deviceGrantCalls(port),
    revocationCalls(port),
    people,
    uiSessionCalls(port),
    keptResponseCalls(port),
    alertCalls(port),
  );
}

/** When each key (by id) was last used, by the ledger. */
async function lastUsed(port: SqlPort): Promise<Record<string, number>> {
  const sql = 'SELECT id, (SELECT max(time) FROM ledger WHERE key_id = keys.id) AS at FROM keys';
  const rows = await port.all<{ id: string; at: number | null }>(sql);
  return Object.fromEntries(rows.filter((r) => r.at !== null).map((r) => [r.id, r.at!]));
}

/** Ledger rows, newest first, by keyset pagination: the rows after the cursor's (time, request id). */
async function requests(port: SqlPort, filter: RequestFilter): Promise<LedgerRow[]> {
  const where = ['time >= ?', 'time < ?'];
  const params: unknown[] = [filter.since, filter.until];
  if (filter.key !== undefined) {
    where.push('(key_id = ? OR key_name = ?)');
    params.push(filter.key, filter.key);
  }
  for (const column of ['model', 'status', 'user', 'team'] as const) {
    if (filter[column] === undefined) continue;
    where.push(`"${column}" = ?`);
    params.push(filter[column]);
  }
  if (filter.after) {
    where.push('(time, request_id) < (?, ?)');
    params.push(filter.after.time, filter.after.requestId);
  }
  const only = scopeSql(filter.scope);
  params.push(...only.params, filter.limit);
  const order = 'ORDER BY time DESC, request_id DESC LIMIT ?';
  const sql = `SELECT * FROM ledger WHERE ${where.join(' AND ')}${only.sql} ${order}`;
  return (await port.all<Record<string, unknown>>(sql, params)).map(ledgerRowFromDb);
}

/** Requests and spend per time bucket (aligned to the epoch) and group. */
function series(
  port: SqlPort,
  by: SeriesGroup,
  since: number,
  until: number,
  stepMs: number,
  scope?: LedgerScope,
): Promise<SeriesRow[]> {
  const group = by === 'key' ? 'key_name' : `"${by}"`;
  const only = scopeSql(scope);
  const sql = `SELECT time - time % ? AS bucket, ${group} AS "group", count(*) AS requests,
      sum(CASE WHEN status >= 400 THEN 1 ELSE 0 END) AS errors, sum(cost_usd) AS "costUsd"
    FROM ledger WHERE time >= ? AND time < ?${only.sql} GROUP BY 1, 2 ORDER BY 1, 2 NULLS FIRST`;
  return port.all<SeriesRow>(sql, [stepMs, since, until, ...only.params]);
}
