import type { Catalog } from '../../catalog/catalog.js';
import { estimateInputTokens } from '../../check/estimate-tokens.js';
import { budgetPeriod, budgetRefusal, worstCaseCost } from '../../control/budget.js';
import type { CounterStore } from '../../control/counter-store.js';
import type { Budget, Limits, TeamRecord } from '../../control/records.js';
import type { BucketAnswer } from '../../control/token-bucket.js';
import { BedrockClaudeError } from '../../errors.js';
import type { Ctx, Stage } from '../pipeline.js';
import { scopeOf } from './call-stages.js';

/** Whose limits and budget a request counts against: its key's, and its team's (the tighter applies). */
interface Subject {
  kind: 'key' | 'team';
  id: string;
  /** As a refusal names it: `key "alice"`, `team "platform"`. */
  label: string;
  limits: Limits | undefined;
  budget: Budget | undefined;
}

export interface EnforcementDeps {
  counters: CounterStore;
  /** A team's record, from the key store's cache. */
  team(name: string): TeamRecord | undefined;
  /** What a key or team spent since a time, from the ledger: read once per period per process, to seed its counter. */
  spentSince(kind: 'key' | 'team', id: string, since: number): number;
  catalog: Catalog;
  timeZone: string;
  /** Wall-clock ms (the buckets refill by it; budgets reset by it). */
  clock: () => number;
}

const RFC3339 = (ms: number) => new Date(Number.isFinite(ms) ? ms : 8.64e15).toISOString().replace(/\.\d{3}Z$/, 'Z');

function subjectsOf(ctx: Ctx, team: (name: string) => TeamRecord | undefined): Subject[] {
  const key = ctx.key;
  if (!key) return [];
  const out: Subject[] = [];
  if (key.limits || key.budget) out.push({ kind: 'key', id: key.id ?? key.name, label: `key "${key.name}"`, limits: key.limits, budget: key.budget });
  const t = key.team ? team(key.team) : undefined;
  if (t) out.push({ kind: 'team', id: t.name, label: `team "${t.name}"`, limits: t.limits, budget: t.budget });
  return out;
}

/** The Anthropic API's rate-limit headers for one kind (`requests`, `input-tokens`, ...), from the tightest answer. */
function limitHeaders(ctx: Ctx, kind: string, limit: number, answer: BucketAnswer): void {
  ctx.headers[`anthropic-ratelimit-${kind}-limit`] = String(limit);
  ctx.headers[`anthropic-ratelimit-${kind}-remaining`] = String(answer.remaining);
  ctx.headers[`anthropic-ratelimit-${kind}-reset`] = RFC3339(answer.fullAt);
}

function refuse(ctx: Ctx, reason: string, message: string, retryAt: number, now: number): BedrockClaudeError {
  ctx.usage.reason = reason;
  const retryAfter = Number.isFinite(retryAt) ? Math.max(1, Math.ceil((retryAt - now) / 1000)) : 60;
  return new BedrockClaudeError(message, { status: 429, type: 'rate_limit_error', bedrockType: 'ThrottlingException', retryAfter, fix: 'Wait for the retry-after seconds, or ask the gateway operator for a higher limit.' });
}

/**
 * Requests per minute and concurrent requests, before the body is read. Over a limit: 429
 * `rate_limit_error` with `retry-after` (the Bedrock front: `ThrottlingException`); concurrency over
 * its limit is refused at once, never queued. A key without limits passes for free.
 */
export function requestLimits(deps: EnforcementDeps): Stage {
  const { counters } = deps;
  return async function requestLimitsStage(ctx, next) {
    const subjects = subjectsOf(ctx, deps.team);
    if (!subjects.length) return next(ctx);
    const now = deps.clock();
    const held: Array<() => Promise<unknown>> = [];
    const giveBack = () => Promise.all(held.splice(0).map((f) => f()));
    let tightest: { limit: number; answer: BucketAnswer } | undefined;
    for (const s of subjects) {
      const rpm = s.limits?.rpm;
      if (rpm) {
        const bucket = `rpm:${s.kind}:${s.id}`;
        const answer = await counters.take(bucket, { capacity: rpm, perMinute: rpm }, 1, now);
        if (!answer.granted) {
          await giveBack();
          limitHeaders(ctx, 'requests', rpm, answer);
          throw refuse(ctx, 'rate_limit:rpm', `The ${s.label} is over its limit of ${rpm} requests per minute.`, answer.retryAt, now);
        }
        held.push(() => counters.take(bucket, { capacity: rpm, perMinute: rpm }, -1, now));
        if (!tightest || answer.remaining < tightest.answer.remaining) tightest = { limit: rpm, answer };
      }
      const concurrency = s.limits?.concurrency;
      if (concurrency) {
        const counter = `inflight:${s.kind}:${s.id}`;
        if ((await counters.add(counter, 1, concurrency)) === undefined) {
          await giveBack();
          throw refuse(ctx, 'concurrency', `The ${s.label} has ${concurrency} requests in flight, its limit: this one is refused, not queued.`, now + 1000, now);
        }
        held.push(() => counters.add(counter, -1, concurrency));
        ctx.finishers.push(() => void counters.add(counter, -1, concurrency));
      }
    }
    if (tightest) limitHeaders(ctx, 'requests', tightest.limit, tightest.answer);
    return next(ctx);
  };
}

/** What a call will read and write at most: its input estimate and `max_tokens`. */
function estimateOf(ctx: Ctx): { input: number; output: number } {
  const body = ctx.call!.request.body;
  const maxTokens = typeof body['max_tokens'] === 'number' && body['max_tokens'] > 0 ? body['max_tokens'] : 0;
  return { input: estimateInputTokens(body), output: maxTokens };
}

/**
 * Input and output tokens per minute, after decoding: input counted from the estimate and output
 * from `max_tokens` when the call starts, settled to the real counts when it ends.
 */
export function tokenLimits(deps: EnforcementDeps): Stage {
  const { counters } = deps;
  return async function tokenLimitsStage(ctx, next) {
    if (ctx.call!.operation !== 'messages') return next(ctx);
    const subjects = subjectsOf(ctx, deps.team).filter((s) => s.limits?.itpm || s.limits?.otpm);
    if (!subjects.length) return next(ctx);
    const now = deps.clock();
    const estimate = estimateOf(ctx);
    const taken: Array<{ bucket: string; limit: number; amount: number; actual: (c: Ctx) => number }> = [];
    const giveBack = () => Promise.all(taken.splice(0).map((t) => counters.take(t.bucket, { capacity: t.limit, perMinute: t.limit }, -t.amount, now)));
    for (const s of subjects) {
      for (const [kind, limit, amount, actual] of [
        ['input-tokens', s.limits?.itpm, estimate.input, (c: Ctx) => (c.usage.inputTokens ?? 0) + (c.usage.cacheWriteTokens ?? 0)],
        ['output-tokens', s.limits?.otpm, estimate.output, (c: Ctx) => c.usage.outputTokens ?? 0],
      ] as const) {
        if (!limit) continue;
        const bucket = `${kind === 'input-tokens' ? 'itpm' : 'otpm'}:${s.kind}:${s.id}`;
        const answer = await counters.take(bucket, { capacity: limit, perMinute: limit }, Math.min(amount, limit), now);
        limitHeaders(ctx, kind, limit, answer);
        if (!answer.granted) {
          await giveBack();
          throw refuse(ctx, `rate_limit:${kind === 'input-tokens' ? 'itpm' : 'otpm'}`, `The ${s.label} is over its limit of ${limit} ${kind.replace('-', ' ')} per minute (this request counts ${amount}).`, answer.retryAt, now);
        }
        taken.push({ bucket, limit, amount: Math.min(amount, limit), actual });
      }
    }
    const settle = taken.slice();
    ctx.finishers.push((c) => {
      const at = deps.clock();
      for (const t of settle) void counters.take(t.bucket, { capacity: t.limit, perMinute: t.limit }, t.actual(c) - t.amount, at);
    });
    return next(ctx);
  };
}

/**
 * Budgets, after the route is known: the worst case is reserved before the call (estimated input
 * at the input price plus `max_tokens` at the output price, with the scope's premium) and settled to
 * the real cost when it ends, however it ends. A reservation that would pass the budget is refused
 * with 403 `permission_error` (the Bedrock front: 400 `ServiceQuotaExceededException`), which the
 * official SDKs and Claude Code do not retry.
 */
export function budgets(deps: EnforcementDeps): Stage {
  const { counters } = deps;
  const seeded = new Set<string>();
  return async function budgetStage(ctx, next) {
    if (ctx.call!.operation !== 'messages') return next(ctx);
    const subjects = subjectsOf(ctx, deps.team).filter((s) => s.budget);
    if (!subjects.length) return next(ctx);
    const now = deps.clock();
    const target = ctx.targets![0]!;
    const estimate = estimateOf(ctx);
    const multiplier = scopeOf(target.modelId, 'global') === 'global' ? 1 : 1 + deps.catalog.data.regionalPremium;
    const reservation = target.model ? worstCaseCost(target.model, estimate.input, estimate.output, multiplier) : 0;
    const reserved: string[] = [];
    for (const s of subjects) {
      const budget = s.budget!;
      const period = budgetPeriod(budget.period, now, deps.timeZone);
      const counter = `spend:${s.kind}:${s.id}:${period.start}`;
      if (!seeded.has(counter)) {
        seeded.add(counter);
        await counters.add(counter, deps.spentSince(s.kind, s.id, period.start), Number.POSITIVE_INFINITY);
      }
      const after = await counters.add(counter, Math.max(reservation, 1e-12), budget.usd);
      if (after === undefined) {
        for (const r of reserved) await counters.add(r, -reservation, Number.POSITIVE_INFINITY);
        ctx.usage.reason = `budget:${s.kind}`;
        const spent = await counters.get(counter);
        // Anthropic front: 403 permission_error. Bedrock front: ServiceQuotaExceededException, a 400 that
        // Bedrock clients (Claude Code in Bedrock mode among them) do not retry, as they do a 403.
        throw new BedrockClaudeError(budgetRefusal(s.label, spent, budget.usd, budget.period, period.end), { status: 403, type: 'permission_error', bedrockType: 'ServiceQuotaExceededException', fix: 'Ask the gateway operator to raise the budget, or wait until it resets.' });
      }
      reserved.push(counter);
    }
    ctx.finishers.push((c) => {
      const settled = (c.usage.costUsd ?? 0) - reservation;
      for (const r of reserved) void counters.add(r, settled, Number.POSITIVE_INFINITY);
    });
    return next(ctx);
  };
}
