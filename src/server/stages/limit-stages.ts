import type { Catalog } from '../../catalog/catalog.js';
import { estimateInputTokens } from '../../check/estimate-tokens.js';
import { budgetRefusal, createPeriodClock, worstCaseCost } from '../../control/budget.js';
import type { CounterOp, CounterStore } from '../../control/counter-store.js';
import type { Budget, Limits, TeamRecord } from '../../control/records.js';
import type { BucketAnswer } from '../../control/token-bucket.js';
import { BedrockClaudeError } from '../../errors.js';
import type { Ctx, Stage } from '../pipeline.js';
import { scopeOf } from './call-stages.js';

/** Whose limits and budget a request counts against: its key's, and its team's (the tighter applies). */
interface Subject {
  kind: 'key' | 'team';
  id: string;
  name: string;
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

/** RFC 3339 to the second, as the Anthropic API's reset headers say it; the last few are kept (most answers share one). */
const rfc3339Seen = new Map<number, string>();
function RFC3339(ms: number): string {
  const second = Number.isFinite(ms) ? Math.ceil(ms / 1000) : 8.64e12;
  let text = rfc3339Seen.get(second);
  if (text === undefined) {
    text = new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    if (rfc3339Seen.size > 64) rfc3339Seen.clear();
    rfc3339Seen.set(second, text);
  }
  return text;
}

const labelOf = (s: Subject) => `${s.kind} "${s.name}"`;

function subjectsOf(ctx: Ctx, team: (name: string) => TeamRecord | undefined): Subject[] | undefined {
  const key = ctx.key;
  if (!key) return undefined;
  const t = key.team ? team(key.team) : undefined;
  if (!key.limits && !key.budget && !t) return undefined;
  const out: Subject[] = [];
  if (key.limits || key.budget) out.push({ kind: 'key', id: key.id ?? key.name, name: key.name, limits: key.limits, budget: key.budget });
  if (t) out.push({ kind: 'team', id: t.name, name: t.name, limits: t.limits, budget: t.budget });
  return out;
}

/** What each op is for: the refusal's words, the header it feeds, and how it settles. */
interface OpMeta {
  what: 'rpm' | 'concurrency' | 'itpm' | 'otpm' | 'budget';
  subject: Subject;
  limit: number;
  periodEnd?: number;
}

const HEADER: Partial<Record<OpMeta['what'], string>> = { rpm: 'requests', itpm: 'input-tokens', otpm: 'output-tokens' };

/**
 * Rate limits, concurrency and budgets of a request's key and team, after the route is known: one
 * admission to the counter store on the way in (all or nothing), one settlement on the way out.
 * - Requests, input tokens and output tokens per minute: token buckets refilled continuously; input
 *   counted from the estimate and output from `max_tokens` when the call starts, settled to the real
 *   counts when it ends. Over a limit: 429 `rate_limit_error` with `retry-after` and the Anthropic
 *   API's headers (the Bedrock front: `ThrottlingException`). Concurrency over its limit is refused
 *   at once, never queued.
 * - Budgets: the worst case is reserved (the input estimate at the input price plus `max_tokens` at
 *   the output price, with the scope's premium) and settled to the real cost, however the call ends.
 *   A reservation past the budget is refused with 403 `permission_error` (the Bedrock front: 400
 *   `ServiceQuotaExceededException`), which the official SDKs and Claude Code do not retry.
 * A key without limits, budget or team passes for free.
 */
export function admission(deps: EnforcementDeps): Stage {
  const { counters } = deps;
  const seeded = new Set<string>();
  const periodOf = createPeriodClock(deps.timeZone);
  return async function admissionStage(ctx, next) {
    const subjects = subjectsOf(ctx, deps.team);
    if (!subjects) return next(ctx);
    const now = deps.clock();
    const call = ctx.call!;
    const metered = call.operation === 'messages';
    const body = call.request.body;
    const maxTokens = metered && typeof body['max_tokens'] === 'number' && body['max_tokens'] > 0 ? body['max_tokens'] : 0;
    let input = -1;
    const inputEstimate = () => (input < 0 ? (input = estimateInputTokens(body)) : input);
    let reservation = -1;
    const reserve = () => {
      if (reservation >= 0) return reservation;
      const target = ctx.targets![0]!;
      const multiplier = scopeOf(target.modelId, 'global') === 'global' ? 1 : 1 + deps.catalog.data.regionalPremium;
      return (reservation = target.model ? worstCaseCost(target.model, inputEstimate(), maxTokens, multiplier) : 0);
    };
    const ops: CounterOp[] = [];
    const meta: OpMeta[] = [];
    const bucket = (s: Subject, what: 'rpm' | 'itpm' | 'otpm', limit: number | undefined, amount: number) => {
      if (!limit) return;
      ops.push({ kind: 'bucket', key: `${what}:${s.kind}:${s.id}`, limit: { capacity: limit, perMinute: limit }, amount: Math.min(amount, limit) });
      meta.push({ what, subject: s, limit });
    };
    for (const s of subjects) {
      const l = s.limits;
      bucket(s, 'rpm', l?.rpm, 1);
      if (l?.concurrency) {
        ops.push({ kind: 'counter', key: `inflight:${s.kind}:${s.id}`, delta: 1, max: l.concurrency });
        meta.push({ what: 'concurrency', subject: s, limit: l.concurrency });
      }
      if (metered) {
        bucket(s, 'itpm', l?.itpm, l?.itpm ? inputEstimate() : 0);
        bucket(s, 'otpm', l?.otpm, maxTokens);
        if (s.budget) {
          const period = periodOf(s.budget.period, now);
          const key = `spend:${s.kind}:${s.id}:${period.start}`;
          if (!seeded.has(key)) {
            seeded.add(key);
            ops.push({ kind: 'seed', key, value: deps.spentSince(s.kind, s.id, period.start) });
            meta.push({ what: 'budget', subject: s, limit: s.budget.usd, periodEnd: period.end });
          }
          ops.push({ kind: 'counter', key, delta: Math.max(reserve(), 1e-12), max: s.budget.usd });
          meta.push({ what: 'budget', subject: s, limit: s.budget.usd, periodEnd: period.end });
        }
      }
    }
    if (!ops.length) return next(ctx);
    const admitted = await counters.admit(ops, now);
    // The Anthropic API's headers, from the tightest bucket of each kind.
    const tightest = new Map<string, { limit: number; answer: BucketAnswer }>();
    admitted.answers.forEach((a, i) => {
      const header = HEADER[meta[i]!.what];
      if (!header || typeof a === 'number') return;
      const seen = tightest.get(header);
      if (!seen || a.remaining < seen.answer.remaining) tightest.set(header, { limit: meta[i]!.limit, answer: a });
    });
    for (const [header, { limit, answer }] of tightest) {
      ctx.headers[`anthropic-ratelimit-${header}-limit`] = String(limit);
      ctx.headers[`anthropic-ratelimit-${header}-remaining`] = String(answer.remaining);
      ctx.headers[`anthropic-ratelimit-${header}-reset`] = RFC3339(answer.fullAt);
    }
    if (!admitted.granted) throw refusal(ctx, ops[admitted.failed!]!, meta[admitted.failed!]!, admitted.answers[admitted.failed!]!, now);
    // On the way out: concurrency back, the token buckets and budgets settled to what was used.
    ctx.finishers.push((c) => {
      const back: CounterOp[] = [];
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i]!;
        const what = meta[i]!.what;
        if (op.kind === 'counter' && what === 'concurrency') back.push({ kind: 'counter', key: op.key, delta: -1, max: op.max });
        else if (op.kind === 'counter' && what === 'budget') back.push({ kind: 'counter', key: op.key, delta: (c.usage.costUsd ?? 0) - op.delta, max: Number.POSITIVE_INFINITY });
        else if (op.kind === 'bucket' && what === 'itpm') back.push(Object.assign({}, op, { amount: (c.usage.inputTokens ?? 0) + (c.usage.cacheWriteTokens ?? 0) - op.amount }));
        else if (op.kind === 'bucket' && what === 'otpm') back.push(Object.assign({}, op, { amount: (c.usage.outputTokens ?? 0) - op.amount }));
      }
      if (back.length) void counters.settle(back, deps.clock());
    });
    return next(ctx);
  };

  function refusal(ctx: Ctx, op: CounterOp, m: OpMeta, answer: BucketAnswer | number, now: number): BedrockClaudeError {
    const who = labelOf(m.subject);
    if (m.what === 'budget') {
      ctx.usage.reason = `budget:${m.subject.kind}`;
      // Anthropic front: 403 permission_error. Bedrock front: ServiceQuotaExceededException, a 400 that
      // Bedrock clients (Claude Code in Bedrock mode among them) do not retry, as they do a 403.
      const spent = typeof answer === 'number' ? answer : 0;
      const fix = spent >= m.limit ? 'Ask the gateway operator to raise the budget, or wait until it resets.' : 'Lower max_tokens (the reservation is the input estimate plus max_tokens of output), ask for a higher budget, or wait until it resets.';
      return new BedrockClaudeError(budgetRefusal(who, spent, m.limit, m.subject.budget!.period, m.periodEnd!, op.kind === 'counter' ? op.delta : 0), { status: 403, type: 'permission_error', bedrockType: 'ServiceQuotaExceededException', fix });
    }
    ctx.usage.reason = m.what === 'concurrency' ? 'concurrency' : `rate_limit:${m.what}`;
    const retryAt = typeof answer === 'number' ? now + 1000 : answer.retryAt;
    const retryAfter = Number.isFinite(retryAt) ? Math.max(1, Math.ceil((retryAt - now) / 1000)) : 60;
    const amount = op.kind === 'bucket' ? op.amount : 1;
    const message =
      m.what === 'concurrency'
        ? `The ${who} has ${m.limit} requests in flight, its limit: this one is refused, not queued.`
        : m.what === 'rpm'
          ? `The ${who} is over its limit of ${m.limit} requests per minute.`
          : `The ${who} is over its limit of ${m.limit} ${m.what === 'itpm' ? 'input' : 'output'} tokens per minute (this request counts ${amount}).`;
    return new BedrockClaudeError(message, { status: 429, type: 'rate_limit_error', bedrockType: 'ThrottlingException', retryAfter, fix: 'Wait for the retry-after seconds, or ask the gateway operator for a higher limit.' });
  }
}
