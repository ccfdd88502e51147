import { budgetPeriod } from '../control/budget.js';
import type { ControlStore } from '../control/control-store.js';
import type { Person } from '../control/device-grants.js';
import type { GatewayKey } from '../control/gateway-keys.js';
import type { Budget, BudgetPeriod, TeamRecord } from '../control/records.js';
import type { BedrockClaudeError } from '../errors.js';
import { anthropicError } from '../server/fronts/anthropic.js';
import type { Ctx, Reply, RouteGroup } from '../server/pipeline.js';
import { bearerPerson, invalidToken, SECURITY } from './http-bits.js';
import type { TokenIssuer } from './tokens.js';

/** How long one person's answer is kept (Claude Code asks on every `/usage` screen refresh). */
const CACHE_MS = 2000;
const GROUP: Record<BudgetPeriod, string> = { day: 'daily', week: 'weekly', month: 'monthly', total: 'total' };

export interface UsageDeps {
  tokens: TokenIssuer;
  /** The person as the key their requests are checked as (their budget, their teams). */
  keyOf(person: Person): GatewayKey;
  team(name: string): TeamRecord | undefined;
  store: Pick<ControlStore, 'spentSince'>;
  timeZone: string;
  now: () => number;
}

interface Cap {
  budget: Budget;
  spent: number;
  end: number;
}

const cents = (usd: number) => Math.round(usd * 100 * 1000) / 1000;
const severity = (ratio: number) => (ratio > 0.95 ? 'critical' : ratio > 0.75 ? 'warning' : 'normal');

/** The caps that apply to a person (their own budget, each of their teams'), with what was spent this period. */
async function capsOf(key: GatewayKey, deps: UsageDeps, now: number): Promise<Cap[]> {
  const subjects: Array<{ kind: 'key' | 'team'; id: string; budget: Budget }> = [];
  if (key.budget) subjects.push({ kind: 'key', id: key.id!, budget: key.budget });
  for (const name of key.teams ?? []) {
    const t = deps.team(name);
    if (t?.budget) subjects.push({ kind: 'team', id: t.name, budget: t.budget });
  }
  return Promise.all(
    subjects.map(async (s) => {
      const period = budgetPeriod(s.budget.period, now, deps.timeZone);
      return { budget: s.budget, spent: await deps.store.spentSince(s.kind, s.id, period.start), end: period.end };
    }),
  );
}

/** The answer Claude Code's `/usage` reads: the fullest cap as the active one, or the spend by period without caps. */
async function usageOf(key: GatewayKey, deps: UsageDeps): Promise<unknown> {
  const now = deps.now();
  const caps = await capsOf(key, deps, now);
  if (!caps.length) {
    const spent = async (p: BudgetPeriod) =>
      Math.floor(cents(await deps.store.spentSince('key', key.id!, budgetPeriod(p, now, deps.timeZone).start)));
    const [d, w, m] = await Promise.all([spent('day'), spent('week'), spent('month')]);
    const none = (used: number) => ({ limit: null, used_credits: used, utilization: null });
    return {
      extra_usage: Object.assign(
        { is_enabled: true, monthly_limit: null, used_credits: m, utilization: null, currency: 'USD' },
        { daily: none(d), weekly: none(w) },
      ),
      limits: [],
    };
  }
  const ratio = (c: Cap) => (c.budget.usd > 0 ? c.spent / c.budget.usd : 1);
  const active = caps.reduce((a, b) => (ratio(b) > ratio(a) ? b : a));
  return {
    extra_usage: {
      is_enabled: true,
      monthly_limit: cents(active.budget.usd),
      used_credits: Math.floor(cents(active.spent)),
      utilization: Math.floor(ratio(active) * 100),
      currency: 'USD',
    },
    limits: caps.map((c) => ({
      kind: 'spend',
      group: GROUP[c.budget.period],
      percent: Math.floor(ratio(c) * 100),
      resets_at: Number.isFinite(c.end) ? new Date(c.end).toISOString() : null,
      severity: severity(ratio(c)),
      is_active: c === active,
    })),
  };
}

/**
 * `GET /api/oauth/usage`: a signed-in person's spend against their caps (their own budget and their teams'), which
 * Claude Code's `/usage` shows ("$0.31 / $200.00 spent this week"). Kept for 2 s per person.
 */
export function usageGroup(deps: UsageDeps): RouteGroup {
  const cached = new Map<string, { at: number; body: string }>();
  return {
    name: 'usage',
    metered: false,
    routes: [
      {
        method: 'GET',
        path: '/api/oauth/usage',
        public: true,
        serve: async (ctx: Ctx): Promise<Reply> => {
          const person = await bearerPerson(ctx, deps.tokens);
          if (!person) return invalidToken(ctx);
          const now = deps.now();
          let hit = cached.get(person.sub);
          if (!hit || now - hit.at >= CACHE_MS) {
            hit = { at: now, body: JSON.stringify(await usageOf(deps.keyOf(person), deps)) };
            if (cached.size >= 10_000) cached.clear();
            cached.set(person.sub, hit);
          }
          const headers = Object.assign(
            { 'content-type': 'application/json;charset=utf-8', 'cache-control': 'no-store' },
            SECURITY,
          );
          return { status: 200, headers, body: hit.body };
        },
      },
    ],
    encodeError: (ctx: Ctx, err: BedrockClaudeError) => anthropicError(ctx, err),
  };
}
