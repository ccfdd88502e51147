import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { budgetPeriod } from '../../control/budget.js';
import { keyActive, keyChangeSchema, keyInputSchema, REPORT_GROUPS, teamChangeSchema, teamInputSchema, type KeyRecord } from '../../control/records.js';
import type { LiveSnapshot } from '../live.js';
import type { ControlStore } from '../../control/control-store.js';
import { StoreError, type StoreErrorKind } from '../../control/store-errors.js';
import { BedrockClaudeError, invalidRequest, type AnthropicErrorType } from '../../errors.js';
import { hashKey } from '../../control/gateway-keys.js';
import { parseJsonObject, presentedKey } from '../http-util.js';
import type { Ctx, Reply } from '../pipeline.js';
import { anthropicError } from './anthropic.js';
import type { RouteGroup } from './front.js';
import { jsonReply } from './replies.js';

export interface AdminDeps {
  store: ControlStore;
  /** The time zone budgets reset in (spend against budget is for the current period). */
  timeZone?: string;
  /** This replica's traffic now (set by the gateway: in-flight requests, circuits). */
  live?: (() => LiveSnapshot) | undefined;
  /** The admin key's SHA-256 (hex). */
  adminKeySha256: string;
  /** After a change, so this gateway's key cache has it before the answer (other replicas are told by the store). */
  changed(): Promise<void>;
  clock: () => number;
}

/** A 400 that names the field, from zod's first issue. */
function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.join('.') || '(body)';
  throw invalidRequest(`${field}: ${issue.message}`, 'See the admin API in the README for the fields each call takes.');
}

/** Each kind of store error as an answer: one table, so every admin call says the same thing. */
const STORE_STATUS: Record<StoreErrorKind, { status: number; type: AnthropicErrorType }> = {
  not_found: { status: 404, type: 'not_found_error' },
  conflict: { status: 409, type: 'invalid_request_error' },
  unavailable: { status: 503, type: 'api_error' },
};
const STORE_FIX = 'Check that the store (the data directory, or PostgreSQL) is reachable; /readyz says what is wrong.';

/**
 * The store's own errors as the client's mistake (no such key: 404, a name taken or a team in use:
 * 409); the store failing (a database gone), or anything unexpected, is a 503 that says so, never a 400.
 */
async function storeCall<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof BedrockClaudeError) throw err;
    const kind = err instanceof StoreError ? err.kind : 'unavailable';
    const { status, type } = STORE_STATUS[kind];
    const message = kind === 'unavailable' ? `The control-plane store failed: ${(err as Error).message}` : (err as Error).message;
    throw new BedrockClaudeError(message, { status, type, cause: err, ...(kind === 'unavailable' ? { fix: STORE_FIX } : {}) });
  }
}

/** `7d`, `24h`, `90m` back from the admin API's clock, or a date: a time once the clock is read. */
const timeParam = z
  .string()
  .transform((v, ctx) => {
    const m = /^(\d+)\s*([dhm])$/.exec(v);
    const back = m ? Number(m[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2] as 'd' | 'h' | 'm'] : undefined;
    const at = Date.parse(v);
    if (back === undefined && Number.isNaN(at)) ctx.addIssue({ code: 'custom', message: 'a duration back from now (7d, 24h, 90m) or a date (2026-11-01)' });
    return (now: number) => (back === undefined ? at : now - back);
  })
  .optional();
const usageQuery = z.object({ by: z.enum(REPORT_GROUPS).default('key'), since: timeParam, until: timeParam }).strict();
const seriesQuery = z.object({ by: z.enum(['model', 'key', 'user', 'team']).default('model'), since: timeParam, until: timeParam, step: z.enum(['hour', 'day']).optional() }).strict();
const rangeQuery = z.object({ since: timeParam, until: timeParam }).strict();
const requestsQuery = z.object({ key: z.string().optional(), user: z.string().optional(), team: z.string().optional(), model: z.string().optional(), status: z.coerce.number().int().optional(), since: timeParam, until: timeParam, cursor: z.string().optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) }).strict();

function cursorOf(time: number, requestId: string): string {
  return Buffer.from(`${time}:${requestId}`).toString('base64url');
}

function parseCursor(cursor: string): { time: number; requestId: string } {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const at = text.indexOf(':');
  const time = Number(text.slice(0, at));
  if (at < 1 || !Number.isInteger(time)) throw invalidRequest('cursor: not a cursor this API gave out', 'Pass next_cursor from the previous page as it is.');
  return { time, requestId: text.slice(at + 1) };
}

/**
 * The admin API (`/admin/...`): keys, teams, usage reports and the ledger, for the CLI's remote
 * mode and the dashboard. Its own key (`adminKey`), sent as `x-api-key` or `Authorization:
 * Bearer`; without an admin key configured these routes do not exist (404). Bodies and queries
 * are validated: bad input is a 400 that names the field.
 */
export function createAdminGroup(deps: AdminDeps): RouteGroup {
  const { store } = deps;
  const expected = Buffer.from(deps.adminKeySha256, 'hex');

  function authorize(ctx: Ctx): void {
    const presented = presentedKey(ctx.req.headers);
    const digest = presented ? Buffer.from(hashKey(presented), 'hex') : Buffer.alloc(expected.length);
    if (!presented || !timingSafeEqual(digest, expected)) throw new BedrockClaudeError('Invalid or missing admin key.', { status: 401, type: 'authentication_error', fix: 'Send the admin key (adminKey, BEDROCK_CLAUDE_ADMIN_KEY) in x-api-key or Authorization: Bearer.' });
  }
  const query = (ctx: Ctx) => Object.fromEntries(new URL(ctx.req.url, 'http://x').searchParams);
  async function body(ctx: Ctx): Promise<Record<string, unknown>> {
    return parseJsonObject(await ctx.req.body(1_000_000), 'Send a JSON object.').value;
  }
  const json = (ctx: Ctx, status: number, value: unknown): Reply => jsonReply(status, value, ctx.headers);
  const withSecret = (record: KeyRecord, key: string) => Object.assign({ key }, record);
  const guarded = (handler: (ctx: Ctx) => Reply | Promise<Reply>) => async (ctx: Ctx): Promise<Reply> => {
    authorize(ctx);
    return handler(ctx);
  };
  const changing = async <T>(run: () => Promise<T>): Promise<T> => {
    const out = await storeCall(run);
    await deps.changed();
    return out;
  };
  const id = (ctx: Ctx) => decodeURIComponent(ctx.params[0]!);
  /** A query's range: what it names, else the last `spanMs` up to now. */
  const range = (q: { since?: ((now: number) => number) | undefined; until?: ((now: number) => number) | undefined }, spanMs: number) => {
    const now = deps.clock();
    return { since: q.since?.(now) ?? now - spanMs, until: q.until?.(now) ?? now + 1 };
  };

  return {
    // 'ops': the admin API's own calls (the dashboard polls) are not model traffic, and stay out of the ledger.
    name: 'admin',
    metered: false,
    routes: [
      { method: 'POST', path: '/admin/keys', public: true, serve: guarded(async (ctx) => { const input = parse(keyInputSchema, await body(ctx)); const { key, record } = await changing(() => store.createKey(input, deps.clock())); return json(ctx, 201, withSecret(record, key)); }) },
      {
        method: 'GET',
        path: '/admin/keys',
        public: true,
        serve: guarded(async (ctx) => {
          const [keys, last] = await storeCall(() => Promise.all([store.listKeys(), store.lastUsed()]));
          return json(ctx, 200, { data: keys.map((k) => Object.assign({}, k, { lastUsed: last[k.id] ?? null })) });
        }),
      },
      { method: 'GET', path: '/admin/keys/{id}', public: true, serve: guarded(async (ctx) => { const k = await storeCall(() => store.findKey(id(ctx))); if (!k) throw new BedrockClaudeError(`No key "${id(ctx)}".`, { status: 404, type: 'not_found_error' }); return json(ctx, 200, k); }) },
      { method: 'PATCH', path: '/admin/keys/{id}', public: true, serve: guarded(async (ctx) => { const change = parse(keyChangeSchema, await body(ctx)); return json(ctx, 200, await changing(() => store.updateKey(id(ctx), change))); }) },
      { method: 'DELETE', path: '/admin/keys/{id}', public: true, serve: guarded(async (ctx) => json(ctx, 200, await changing(() => store.revokeKey(id(ctx), deps.clock())))) },
      { method: 'POST', path: '/admin/teams', public: true, serve: guarded(async (ctx) => { const input = parse(teamInputSchema, await body(ctx)); return json(ctx, 201, await changing(() => store.createTeam(input, deps.clock()))); }) },
      { method: 'GET', path: '/admin/teams', public: true, serve: guarded(async (ctx) => json(ctx, 200, { data: await storeCall(() => store.listTeams()) })) },
      { method: 'GET', path: '/admin/teams/{name}', public: true, serve: guarded(async (ctx) => { const t = await storeCall(() => store.findTeam(id(ctx))); if (!t) throw new BedrockClaudeError(`No team "${id(ctx)}".`, { status: 404, type: 'not_found_error' }); return json(ctx, 200, t); }) },
      { method: 'DELETE', path: '/admin/teams/{name}', public: true, serve: guarded(async (ctx) => json(ctx, 200, await changing(() => store.deleteTeam(id(ctx))))) },
      { method: 'PATCH', path: '/admin/teams/{name}', public: true, serve: guarded(async (ctx) => { const change = parse(teamChangeSchema, await body(ctx)); return json(ctx, 200, await changing(() => store.updateTeam(id(ctx), change))); }) },
      {
        method: 'GET',
        path: '/admin/usage',
        public: true,
        serve: guarded(async (ctx) => {
          const q = parse(usageQuery, query(ctx));
          const { since, until } = range(q, 30 * 86_400_000);
          return json(ctx, 200, { by: q.by, since: new Date(since).toISOString(), until: new Date(until).toISOString(), rows: await storeCall(() => store.report(q.by, since, until)) });
        }),
      },
      {
        method: 'GET',
        path: '/admin/usage/series',
        public: true,
        serve: guarded(async (ctx) => {
          const q = parse(seriesQuery, query(ctx));
          const { since, until } = range(q, 86_400_000);
          const step = q.step ?? (until - since <= 2 * 86_400_000 ? 'hour' : 'day');
          const stepMs = step === 'hour' ? 3_600_000 : 86_400_000;
          if ((until - since) / stepMs > 2000) throw invalidRequest(`since/until: ${Math.ceil((until - since) / stepMs)} ${step}s is too many points`, 'Pick a shorter range, or step=day.');
          const rows = await storeCall(() => store.series(q.by, since, until, stepMs));
          return json(ctx, 200, { by: q.by, step, since: new Date(since).toISOString(), until: new Date(until).toISOString(), rows });
        }),
      },
      {
        method: 'GET',
        path: '/admin/usage/latency',
        public: true,
        serve: guarded(async (ctx) => {
          const q = parse(rangeQuery, query(ctx));
          const { since, until } = range(q, 86_400_000);
          return json(ctx, 200, Object.assign({ since: new Date(since).toISOString(), until: new Date(until).toISOString() }, await storeCall(() => store.latency(since, until))));
        }),
      },
      {
        method: 'GET',
        path: '/admin/budgets',
        public: true,
        serve: guarded(async (ctx) => {
          const now = deps.clock();
          const [keys, teams] = await storeCall(() => Promise.all([store.listKeys(), store.listTeams()]));
          const subjects = [...keys.filter((k) => k.budget && keyActive(k, now)).map((k) => ({ kind: 'key' as const, id: k.id, name: k.name, budget: k.budget! })), ...teams.filter((t) => t.budget).map((t) => ({ kind: 'team' as const, id: t.name, name: t.name, budget: t.budget! }))];
          const data = await storeCall(() =>
            Promise.all(
              subjects.map(async (s) => {
                const period = budgetPeriod(s.budget.period, now, deps.timeZone ?? 'UTC');
                const spentUsd = await store.spentSince(s.kind, s.id, period.start);
                return { kind: s.kind, id: s.id, name: s.name, budget: s.budget, spentUsd, periodStart: new Date(period.start).toISOString(), periodEnd: Number.isFinite(period.end) ? new Date(period.end).toISOString() : null };
              }),
            ),
          );
          data.sort((a, b) => b.spentUsd / (b.budget.usd || 1) - a.spentUsd / (a.budget.usd || 1));
          return json(ctx, 200, { data });
        }),
      },
      { method: 'GET', path: '/admin/live', public: true, serve: guarded((ctx) => json(ctx, 200, deps.live ? deps.live() : { time: deps.clock(), inFlight: 0, perSecond: [], errorsPerSecond: [], recentErrors: [], targets: [] })) },
      {
        method: 'GET',
        path: '/admin/requests',
        public: true,
        serve: guarded(async (ctx) => {
          const q = parse(requestsQuery, query(ctx));
          const rows = await storeCall(() => store.requests({ since: q.since?.(deps.clock()) ?? 0, until: q.until?.(deps.clock()) ?? deps.clock() + 1, limit: q.limit, key: q.key, user: q.user, team: q.team, model: q.model, status: q.status, after: q.cursor ? parseCursor(q.cursor) : undefined }));
          const last = rows.length === q.limit ? rows[rows.length - 1] : undefined;
          return json(ctx, 200, { data: rows, next_cursor: last ? cursorOf(last.time, last.requestId) : null });
        }),
      },
    ],
    encodeError: anthropicError,
  };
}
