import { z } from 'zod';
import { budgetPeriod } from '../../control/budget.js';
import type { ControlStore } from '../../control/control-store.js';
import { keyActive, REPORT_GROUPS, type Budget } from '../../control/records.js';
import { invalidRequest } from '../../errors.js';
import type {
  BudgetUse,
  LatencyAnswer,
  List,
  LiveSnapshot,
  RequestsPage,
  SeriesAnswer,
  UsageAnswer,
} from '../admin-types.js';
import type { Ctx, Reply } from '../pipeline.js';
import { parse, storeCall } from './admin-errors.js';
import { jsonReply } from './replies.js';
import { needAdmin, scopeOf, seesKey, seesTeam, type Principal } from './admin-access.js';
import type { BudgetAlert } from '../../control/alert-calls.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** `7d`, `24h`, `90m` back from the admin API's clock, or a date: a time once the clock is read. */
const timeParam = z
  .string()
  .transform((v, ctx) => {
    const m = /^(\d+)\s*([dhm])$/.exec(v);
    const back = m ? Number(m[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2] as 'd' | 'h' | 'm'] : undefined;
    const at = Date.parse(v);
    if (back === undefined && Number.isNaN(at))
      ctx.addIssue({ code: 'custom', message: 'a duration back from now (7d, 24h, 90m) or a date (2026-11-01)' });
    return (now: number) => (back === undefined ? at : now - back);
  })
  .optional();
const usageQuery = z.object({ by: z.enum(REPORT_GROUPS).default('key'), since: timeParam, until: timeParam }).strict();
const seriesQuery = z
  .object({
    by: z.enum(['model', 'key', 'user', 'team']).default('model'),
    since: timeParam,
    until: timeParam,
    step: z.enum(['hour', 'day']).optional(),
  })
  .strict();
const rangeQuery = z.object({ since: timeParam, until: timeParam }).strict();
const requestsQuery = z
  .object({
    key: z.string().optional(),
    user: z.string().optional(),
    team: z.string().optional(),
    model: z.string().optional(),
    status: z.coerce.number().int().optional(),
    since: timeParam,
    until: timeParam,
    cursor: z.string().optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

function cursorOf(time: number, requestId: string): string {
  return Buffer.from(`${time}:${requestId}`).toString('base64url');
}

function parseCursor(cursor: string): { time: number; requestId: string } {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const at = text.indexOf(':');
  const time = Number(text.slice(0, at));
  if (at < 1 || !Number.isInteger(time))
    throw invalidRequest('cursor: not a cursor this API gave out', 'Pass next_cursor from the previous page as it is.');
  return { time, requestId: text.slice(at + 1) };
}

type TimeParam = ((now: number) => number) | undefined;
const json = (ctx: Ctx, value: unknown): Reply => jsonReply(200, value, ctx.headers);
const query = (ctx: Ctx) => Object.fromEntries(new URL(ctx.req.url, 'http://x').searchParams);
const iso = (t: number) => new Date(t).toISOString();

/**
 * The admin API's reports: usage by group, series, latency, spend against budget, this replica's minute, the ledger.
 */
export function reportHandlers(
  store: ControlStore,
  deps: { clock: () => number; timeZone?: string | undefined; live?: (() => LiveSnapshot) | undefined },
) {
  /** A query's range: what it names, else the last `spanMs` up to now (by the admin API's clock). */
  const range = (q: { since?: TimeParam; until?: TimeParam }, spanMs: number) => {
    const now = deps.clock();
    return { since: q.since?.(now) ?? now - spanMs, until: q.until?.(now) ?? now + 1 };
  };
  return {
    async usage(ctx: Ctx, who: Principal) {
      const q = parse(usageQuery, query(ctx));
      const { since, until } = range(q, 30 * DAY);
      const rows = await storeCall(() => store.report(q.by, since, until, scopeOf(who)));
      return json(ctx, { by: q.by, since: iso(since), until: iso(until), rows } satisfies UsageAnswer);
    },
    async series(ctx: Ctx, who: Principal) {
      const q = parse(seriesQuery, query(ctx));
      const { since, until } = range(q, DAY);
      const { step, stepMs } = seriesStep(q.step, since, until);
      const rows = await storeCall(() => store.series(q.by, since, until, stepMs, scopeOf(who)));
      return json(ctx, { by: q.by, step, since: iso(since), until: iso(until), rows } satisfies SeriesAnswer);
    },
    async latency(ctx: Ctx) {
      const q = parse(rangeQuery, query(ctx));
      const { since, until } = range(q, DAY);
      const summary = await storeCall(() => store.latency(since, until));
      return json(ctx, Object.assign({ since: iso(since), until: iso(until) }, summary) satisfies LatencyAnswer);
    },
    /** The latest budget alerts (`?limit=`, default 50), newest first: the admins'. */
    async alerts(ctx: Ctx, who: Principal) {
      needAdmin(who);
      const limit = Math.min(Math.max(Number(query(ctx)['limit'] ?? 50) || 50, 1), 500);
      const data = await storeCall(() => store.listAlerts(limit));
      return json(ctx, { data } satisfies List<BudgetAlert>);
    },
    budgets: async (ctx: Ctx, who: Principal) =>
      json(ctx, {
        data: await budgetUses(store, deps.clock(), deps.timeZone ?? 'UTC', who),
      } satisfies List<BudgetUse>),
    live(ctx: Ctx) {
      const now = deps.live?.() ?? idleSnapshot(deps.clock());
      // Not counting itself: the poll asking is in flight over HTTP (a call in process is not counted).
      const self = ctx.req.remoteAddress ? 1 : 0;
      return json(ctx, Object.assign({}, now, { inFlight: Math.max(0, now.inFlight - self) }) satisfies LiveSnapshot);
    },
    async requests(ctx: Ctx, who: Principal) {
      const filter = Object.assign(requestsFilter(parse(requestsQuery, query(ctx)), deps.clock()), {
        scope: scopeOf(who),
      });
      const rows = await storeCall(() => store.requests(filter));
      const last = rows.length === filter.limit ? rows[rows.length - 1] : undefined;
      return json(ctx, {
        data: rows,
        next_cursor: last ? cursorOf(last.time, last.requestId) : null,
      } satisfies RequestsPage);
    },
  };
}

/** The series' step (an hour up to two days, else a day), refused beyond 2,000 points. */
function seriesStep(asked: 'hour' | 'day' | undefined, since: number, until: number) {
  const step = asked ?? (until - since <= 2 * DAY ? 'hour' : 'day');
  const stepMs = step === 'hour' ? HOUR : DAY;
  const points = Math.ceil((until - since) / stepMs);
  if (points > 2000)
    throw invalidRequest(`since/until: ${points} ${step}s is too many points`, 'Pick a shorter range, or step=day.');
  return { step, stepMs };
}

function idleSnapshot(time: number): LiveSnapshot {
  return { time, inFlight: 0, perSecond: [], errorsPerSecond: [], recentErrors: [], targets: [] };
}

function requestsFilter(q: ReturnType<typeof requestsQuery.parse>, now: number) {
  return {
    since: q.since?.(now) ?? 0,
    until: q.until?.(now) ?? now + 1,
    limit: q.limit,
    key: q.key,
    user: q.user,
    team: q.team,
    model: q.model,
    status: q.status,
    after: q.cursor ? parseCursor(q.cursor) : undefined,
  };
}

/** Each active key's and each team's budget, and what was spent in its current period; the fullest first. */
async function budgetUses(store: ControlStore, now: number, timeZone: string, who: Principal): Promise<BudgetUse[]> {
  const [keys, teams, people] = await storeCall(() =>
    Promise.all([store.listKeys(), store.listTeams(), store.listPeople()]),
  );
  const subjects: Array<{ kind: BudgetUse['kind']; id: string; name: string; budget: Budget }> = [
    // People an admin gave a budget of their own (the config's default is not listed per person).
    ...people
      .filter((p) => p.budget && (who.role === 'admin' || p.email === who.email))
      .map((p) => ({ kind: 'person' as const, id: `oidc:${p.subject}`, name: p.email, budget: p.budget! })),
    ...keys
      .filter((k) => k.budget && keyActive(k, now) && seesKey(who, k))
      .map((k) => ({ kind: 'key' as const, id: k.id, name: k.name, budget: k.budget! })),
    ...teams
      .filter((t) => t.budget && seesTeam(who, t.name))
      .map((t) => ({ kind: 'team' as const, id: t.name, name: t.name, budget: t.budget! })),
  ];
  const data = await storeCall(() =>
    Promise.all(
      subjects.map(async (s): Promise<BudgetUse> => {
        const period = budgetPeriod(s.budget.period, now, timeZone);
        const spentUsd = await store.spentSince(s.kind === 'team' ? 'team' : 'key', s.id, period.start);
        const periodEnd = Number.isFinite(period.end) ? iso(period.end) : null;
        return {
          kind: s.kind,
          id: s.id,
          name: s.name,
          budget: s.budget,
          spentUsd,
          periodStart: iso(period.start),
          periodEnd,
        };
      }),
    ),
  );
  return data.sort((a, b) => b.spentUsd / (b.budget.usd || 1) - a.spentUsd / (a.budget.usd || 1));
}
