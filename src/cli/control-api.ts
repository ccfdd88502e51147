import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import type { z } from 'zod';
import { hostname, userInfo } from 'node:os';
import {
  keyChangeSchema,
  keyInputSchema,
  personChangeSchema,
  teamChangeSchema,
  teamInputSchema,
  validate,
} from '../control/records.js';
import type { ControlStore } from '../control/control-store.js';
import { budgetPeriod, deletionRefusal } from '../control/budget.js';
import type {
  Actor,
  AuditEntry,
  PersonChange,
  PersonRecord,
  KeyChange,
  KeyInput,
  KeyRecord,
  ReportGroup,
  ReportRow,
  TeamChange,
  TeamInput,
  TeamRecord,
} from '../control/records.js';
import { nonEmpty } from '../aws/env-region.js';
import { resolveDataDir } from './control-options.js';

/** What the control-plane commands do, against the local data directory or a running gateway's admin API. */
export interface ControlApi {
  /** Where the commands act: a data directory, or a gateway's URL. */
  where: string;
  createKey(input: KeyInput): Promise<{ key: string; record: KeyRecord }>;
  listKeys(): Promise<KeyRecord[]>;
  findKey(id: string): Promise<KeyRecord | undefined>;
  updateKey(id: string, change: KeyChange): Promise<KeyRecord>;
  revokeKey(id: string): Promise<KeyRecord>;
  /** A new secret (shown once); the old one works `overlapMs` longer. */
  rotateKey(id: string, overlapMs: number): Promise<{ key: string; record: KeyRecord }>;
  /** Deletes a key's record; refused while it spent in its open period, unless forced. */
  deleteKey(id: string, force: boolean): Promise<KeyRecord>;
  /** Deletes a team without active keys; refused while it spent in its open period, unless forced. */
  deleteTeam(name: string, force: boolean): Promise<TeamRecord>;
  createTeam(input: TeamInput): Promise<TeamRecord>;
  listTeams(): Promise<TeamRecord[]>;
  findTeam(name: string): Promise<TeamRecord | undefined>;
  updateTeam(name: string, change: TeamChange): Promise<TeamRecord>;
  listPeople(): Promise<PersonRecord[]>;
  findPerson(subjectOrEmail: string): Promise<PersonRecord | undefined>;
  updatePerson(subjectOrEmail: string, change: PersonChange): Promise<PersonRecord>;
  /** The audit log, newest first. */
  auditLog(limit: number): Promise<AuditEntry[]>;
  report(by: ReportGroup, since: number, until: number): Promise<ReportRow[]>;
  close(): Promise<void> | void;
}

export interface TargetFlags {
  dataDir?: string;
  databaseUrl?: string;
  gateway?: string;
  adminKey?: string;
}

/** `--data-dir`, or `--gateway URL --admin-key K` (or BEDROCK_CLAUDE_ADMIN_KEY), on a control-plane command. */
export function addTargetOptions(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'the data directory (default BEDROCK_CLAUDE_DATA_DIR, then ~/.bedrock-claude)')
    .option(
      '--database-url <url>',
      'act on the PostgreSQL store of several replicas (default BEDROCK_CLAUDE_DATABASE_URL)',
    )
    .option('--gateway <url>', "a running gateway's URL: act through its admin API instead of a data directory")
    .option('--admin-key <key>', 'the admin key for --gateway (default BEDROCK_CLAUDE_ADMIN_KEY)');
}

async function local(dataDir: string): Promise<ControlApi> {
  const { openSqliteControlStore } = await import('../control/sqlite-store.js');
  return overStore(openSqliteControlStore(dataDir));
}

/** Input as the admin API would take it: the same schema, the same limits, the same words when it refuses. */
function checked<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = validate(schema, value);
  if (!r.ok) throw new Error(r.problem);
  return r.value;
}

/** Who the CLI acts as on a store: the operating system's user on this host (what the audit log keeps). */
function cliActor(): Actor {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no user entry (a container's arbitrary uid): "unknown" it is
  }
  return { actor: `cli:${user}`, via: 'cli', address: hostname(), time: Date.now() };
}

/** Refuses to delete what spent in its open period (budgets reset by UTC here: the CLI has no time zone). */
async function refuseWhileSpent(store: ControlStore, what: Parameters<typeof deletionRefusal>[1]): Promise<void> {
  const why = await deletionRefusal(store, what, Date.now());
  if (why)
    throw Object.assign(new Error(`not deleted: ${why}`), {
      fix: `Revoke it instead (it stops working, its spend stays counted), or delete with --force.`,
    });
}

/** The commands straight on a store (the data directory's, or PostgreSQL's). */
function overStore(store: ControlStore): ControlApi {
  const now = Date.now;
  return {
    where: store.where,
    createKey: async (input) => store.createKey(checked(keyInputSchema, input), now(), cliActor()),
    listKeys: () => store.listKeys(),
    findKey: (id) => store.findKey(id),
    updateKey: async (id, change) => store.updateKey(id, checked(keyChangeSchema, change), cliActor()),
    revokeKey: (id) => store.revokeKey(id, now(), cliActor()),
    rotateKey: (id, overlapMs) => store.rotateKey(id, now(), overlapMs, cliActor()),
    async deleteKey(id, force) {
      const k = await store.findKey(id);
      if (!k) throw new Error(`no key "${id}" (bedrock-claude keys list shows them)`);
      if (!force) await refuseWhileSpent(store, { kind: 'key', id: k.id, name: k.name, budget: k.budget });
      return store.deleteKey(k.id, cliActor());
    },
    async deleteTeam(name, force) {
      const t = await store.findTeam(name);
      if (!t) throw new Error(`no team "${name}" (bedrock-claude teams list shows them)`);
      if (!force) await refuseWhileSpent(store, { kind: 'team', id: t.name, name: t.name, budget: t.budget });
      return store.deleteTeam(t.name, cliActor());
    },
    createTeam: async (input) => store.createTeam(checked(teamInputSchema, input), now(), cliActor()),
    listTeams: () => store.listTeams(),
    findTeam: (name) => store.findTeam(name),
    updateTeam: async (name, change) => store.updateTeam(name, checked(teamChangeSchema, change), cliActor()),
    listPeople: () => store.listPeople(),
    findPerson: (id) => store.findPerson(id),
    updatePerson: async (id, change) => store.updatePerson(id, checked(personChangeSchema, change), cliActor()),
    auditLog: (limit) => store.auditLog({ limit }),
    report: (by, since, until) => store.report(by, since, until),
    close: () => store.close(),
  };
}

/** A call to a gateway's admin API: the answer's JSON, its error's message as an Error, a 404 as undefined if asked. */
function adminCaller(base: string, adminKey: string) {
  return async function call<T>(method: string, path: string, body?: unknown, missingIsUndefined = false): Promise<T> {
    const { request } = await import('undici');
    const res = await request(new URL(path, base.endsWith('/') ? base : `${base}/`), {
      method: method as 'GET',
      headers: Object.assign(
        { authorization: `Bearer ${adminKey}`, 'x-bedrock-claude-client': 'cli' },
        body === undefined ? {} : { 'content-type': 'application/json' },
      ),
      body: body === undefined ? null : JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode === 404 && missingIsUndefined) return undefined as T;
    if (res.statusCode >= 400) {
      let message = text;
      try {
        message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
      } catch {
        // not JSON: the gateway's words as they came
      }
      throw new Error(
        res.statusCode === 404 && /No route/.test(message)
          ? `${base} has no admin API: start it with an admin key (adminKey, BEDROCK_CLAUDE_ADMIN_KEY) and a data ` +
              `directory`
          : message,
      );
    }
    return JSON.parse(text) as T;
  };
}

function remote(base: string, adminKey: string): ControlApi {
  const call = adminCaller(base, adminKey);
  const seg = encodeURIComponent;
  return {
    where: base,
    createKey: async (input) => {
      const out = await call<KeyRecord & { key: string }>('POST', 'admin/keys', input);
      const { key, ...record } = out;
      return { key, record };
    },
    listKeys: async () => (await call<{ data: KeyRecord[] }>('GET', 'admin/keys')).data,
    findKey: (id) => call('GET', `admin/keys/${seg(id)}`, undefined, true),
    updateKey: (id, change) => call('PATCH', `admin/keys/${seg(id)}`, change),
    revokeKey: (id) => call('DELETE', `admin/keys/${seg(id)}`),
    rotateKey: async (id, overlapMs) => {
      const body = { overlapSeconds: Math.round(overlapMs / 1000) };
      const { key, ...record } = await call<KeyRecord & { key: string }>('POST', `admin/keys/${seg(id)}/rotate`, body);
      return { key, record };
    },
    deleteKey: (id, force) => call('DELETE', `admin/keys/${seg(id)}?purge=true${force ? '&force=true' : ''}`),
    deleteTeam: (name, force) => call('DELETE', `admin/teams/${seg(name)}${force ? '?force=true' : ''}`),
    createTeam: (input) => call('POST', 'admin/teams', input),
    listTeams: async () => (await call<{ data: TeamRecord[] }>('GET', 'admin/teams')).data,
    findTeam: (name) => call('GET', `admin/teams/${seg(name)}`, undefined, true),
    updateTeam: (name, change) => call('PATCH', `admin/teams/${seg(name)}`, change),
    listPeople: async () => (await call<{ data: PersonRecord[] }>('GET', 'admin/people')).data,
    findPerson: (id) => call('GET', `admin/people/${seg(id)}`, undefined, true),
    updatePerson: (id, change) => call('PATCH', `admin/people/${seg(id)}`, change),
    auditLog: async (limit) => (await call<{ data: AuditEntry[] }>('GET', `admin/audit?limit=${limit}`)).data,
    report: async (by, since, until) =>
      (
        await call<{ rows: ReportRow[] }>(
          'GET',
          `admin/usage?by=${by}&since=${seg(new Date(since).toISOString())}` +
            `&until=${seg(new Date(until).toISOString())}`,
        )
      ).rows,
    close: () => undefined,
  };
}

/**
 * The data directory a command acts on. One named (`--data-dir`, `BEDROCK_CLAUDE_DATA_DIR`) must be there unless the
 * command creates something (`keys create`, `teams create`): a typo is refused, not made into an empty store that
 * lists nothing. The default one (`~/.bedrock-claude`) is made on first use.
 */
function existingDataDir(flag: string | undefined, creates: boolean): string {
  const dir = resolveDataDir(flag);
  const named = nonEmpty(flag) ?? nonEmpty(process.env['BEDROCK_CLAUDE_DATA_DIR']);
  if (named && !creates && !existsSync(dir))
    throw Object.assign(new Error(`there is no data directory at ${dir}`), {
      fix: `Check the path (serve --data-dir ${dir} makes it on first start), or make it: mkdir -p ${dir}`,
    });
  return dir;
}

/**
 * The control plane a command acts on: a running gateway with `--gateway`, PostgreSQL with
 * `--database-url`, the data directory with `--data-dir`; then BEDROCK_CLAUDE_DATABASE_URL, then
 * the default data directory.
 */
export async function openControlApi(flags: TargetFlags, creates = false): Promise<ControlApi> {
  const gateway = nonEmpty(flags.gateway);
  const databaseUrl =
    nonEmpty(flags.databaseUrl) ??
    (nonEmpty(flags.dataDir) ? undefined : nonEmpty(process.env['BEDROCK_CLAUDE_DATABASE_URL']));
  if (!gateway && databaseUrl) {
    const { openPostgresControlStore } = await import('../control/postgres-store.js');
    return overStore(await openPostgresControlStore(databaseUrl));
  }
  if (!gateway) return local(existingDataDir(flags.dataDir, creates));
  const adminKey = nonEmpty(flags.adminKey) ?? nonEmpty(process.env['BEDROCK_CLAUDE_ADMIN_KEY']);
  if (!adminKey) throw new Error('--gateway needs the admin key: pass --admin-key or set BEDROCK_CLAUDE_ADMIN_KEY');
  return remote(gateway, adminKey);
}

/**
 * What each key or team spent this calendar month (UTC), by name, from the ledger: shown beside every key and team,
 * a budget or not.
 */
export async function monthSpend(api: ControlApi, by: 'key' | 'team', now = Date.now()): Promise<Map<string, number>> {
  const rows = await api.report(by, budgetPeriod('month', now).start, now + 1);
  return new Map(rows.filter((r) => r.group !== null).map((r) => [r.group!, r.costUsd]));
}

/** Money as the CLI prints it: dollars to six places, no float noise (`$0.117000`, `$0`). */
export const dollars = (usd: number): string => (usd === 0 ? '$0' : `$${usd.toFixed(6)}`);

/** Runs a command against the control plane and closes it after. */
export async function withControl<T>(
  flags: TargetFlags,
  run: (api: ControlApi) => Promise<T>,
  creates = false,
): Promise<T> {
  const api = await openControlApi(flags, creates);
  try {
    return await run(api);
  } finally {
    await api.close();
  }
}
