import type { Catalog } from '../../catalog/catalog.js';
import { estimateInputTokens } from '../../check/estimate-tokens.js';
import { budgetRefusal, createPeriodClock } from '../../control/budget.js';
import { estimateCost } from '../../catalog/estimate-cost.js';
import type { CounterOp, CounterStore } from '../../control/counter-store.js';
import type { Budget, Limits, TeamRecord } from '../../control/records.js';
import type { BucketAnswer, BucketLimit } from '../../control/token-bucket.js';
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
  /** What a key or team spent since a time, from the ledger: read when its spend counter is missing, to seed it. */
  spentSince(kind: 'key' | 'team', id: string, since: number): Promise<number>;
  catalog: Catalog;
  timeZone: string;
  /** Wall-clock ms (the buckets refill by it; budgets reset by it). */
  clock: () => number;
  /** A settlement that failed after the answer (the counters away): counted and said, never thrown. */
  onFailure?: ((where: 'settle', err: unknown) => void) | undefined;
}

/**
 * RFC 3339 to the second, as the Anthropic API's reset headers say it; the last few are kept (most answers share one).
 */
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

/** The request's input estimate: the preflight's (it made one for the context-window rule), else made here. */
const inputEstimate = (ctx: Ctx, body: Record<string, unknown>): number => ctx.inputTokens ?? estimateInputTokens(body);

const labelOf = (s: Subject) => `${s.kind} "${s.name}"`;

function subjectsOf(ctx: Ctx, team: (name: string) => TeamRecord | undefined): Subject[] | undefined {
  const key = ctx.key;
  if (!key) return undefined;
  const t = key.team ? team(key.team) : undefined;
  if (!key.limits && !key.budget && !t) return undefined;
  const out: Subject[] = [];
  if (key.limits || key.budget)
    out.push({ kind: 'key', id: key.id ?? key.name, name: key.name, limits: key.limits, budget: key.budget });
  if (t) out.push({ kind: 'team', id: t.name, name: t.name, limits: t.limits, budget: t.budget });
  return out;
}

/** One check of a request, planned once per key: what it is for, its counter, and its limit. */
interface OpMeta {
  what: 'rpm' | 'concurrency' | 'itpm' | 'otpm' | 'budget';
  subject: Subject;
  limit: number;
  /** The counter or bucket (a budget's: per period, below). */
  key: string;
  bucketLimit: BucketLimit | undefined;
  /** The op itself, where it is the same for every request (one request, one slot). */
  fixed: CounterOp | undefined;
  /** A budget's counter for the period it was last used in. */
  period?: { start: number; end: number; key: string };
}

const HEADERS: Partial<Record<OpMeta['what'], [string, string, string]>> = Object.fromEntries(
  (['rpm', 'itpm', 'otpm'] as const).map((what) => {
    const kind = { rpm: 'requests', itpm: 'input-tokens', otpm: 'output-tokens' }[what];
    return [
      what,
      [
        `anthropic-ratelimit-${kind}-limit`,
        `anthropic-ratelimit-${kind}-remaining`,
        `anthropic-ratelimit-${kind}-reset`,
      ],
    ];
  }),
);

const TOKEN_HEADERS: [string, string, string] = [
  'anthropic-ratelimit-tokens-limit',
  'anthropic-ratelimit-tokens-remaining',
  'anthropic-ratelimit-tokens-reset',
];

/** The checks a key's requests go through, in order: made once per key record (a refreshed key is a new record). */
function planFor(subjects: Subject[]): OpMeta[] {
  const plan: OpMeta[] = [];
  // One hash tag for all the counters a request touches (Redis Cluster runs a script on one slot):
  // its team's when it has one, else its key's. A key that changes team starts its counters afresh.
  const team = subjects.find((s) => s.kind === 'team');
  const tag = `{${team ? `team:${team.id}` : `key:${subjects[0]!.id}`}}`;
  for (const s of subjects) {
    const l = s.limits;
    const id = `${tag}:${s.kind}:${s.id}`;
    const bucket = (what: 'rpm' | 'itpm' | 'otpm', limit: number | undefined) => {
      if (!limit) return;
      const bucketLimit = { capacity: limit, perMinute: limit };
      plan.push({
        what,
        subject: s,
        limit,
        key: `${what}:${id}`,
        bucketLimit,
        fixed: what === 'rpm' ? { kind: 'bucket', key: `${what}:${id}`, limit: bucketLimit, amount: 1 } : undefined,
      });
    };
    bucket('rpm', l?.rpm);
    if (l?.concurrency)
      plan.push({
        what: 'concurrency',
        subject: s,
        limit: l.concurrency,
        key: `inflight:${id}`,
        bucketLimit: undefined,
        fixed: { kind: 'counter', key: `inflight:${id}`, delta: 1, max: l.concurrency },
      });
    bucket('itpm', l?.itpm);
    bucket('otpm', l?.otpm);
    if (s.budget)
      plan.push({
        what: 'budget',
        subject: s,
        limit: s.budget.usd,
        key: `spend:${id}`,
        bucketLimit: undefined,
        fixed: undefined,
      });
  }
  return plan;
}

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
  const periodOf = createPeriodClock(deps.timeZone);
  const plans = new WeakMap<object, OpMeta[] | null>();
  function planOf(ctx: Ctx): OpMeta[] | null {
    const key = ctx.key;
    if (!key) return null;
    let plan = plans.get(key);
    if (plan === undefined) {
      const subjects = subjectsOf(ctx, deps.team);
      plan = subjects ? planFor(subjects) : null;
      if (plan && !plan.length) plan = null;
      plans.set(key, plan);
    }
    return plan;
  }
  return async function admissionStage(ctx, next) {
    const plan = planOf(ctx);
    if (!plan) return next(ctx);
    const now = deps.clock();
    const call = ctx.call!;
    const metered = call.operation === 'messages';
    const body = call.request.body;
    const maxTokens =
      metered && typeof body['max_tokens'] === 'number' && body['max_tokens'] > 0 ? body['max_tokens'] : 0;
    let input = -1;
    let reservation = -1;
    const ops: CounterOp[] = [];
    const meta: OpMeta[] = [];
    for (const m of plan) {
      if (m.fixed) {
        ops.push(m.fixed);
        meta.push(m);
        continue;
      }
      if (!metered) continue;
      if (m.what === 'budget') {
        const budget = m.subject.budget!;
        let period = m.period;
        if (!period || now < period.start || now >= period.end) {
          const p = periodOf(budget.period, now);
          period = m.period = { start: p.start, end: p.end, key: `${m.key}:${p.start}` };
        }
        if (reservation < 0) {
          const target = ctx.targets![0]!;
          if (input < 0) input = inputEstimate(ctx, body);
          // The worst case: the input estimate and all of max_tokens, priced as the answer will be.
          const worst = { input_tokens: input, output_tokens: maxTokens };
          reservation = target.model
            ? estimateCost(worst, target.model, scopeOf(target.modelId, 'global'), deps.catalog).usd
            : 0;
        }
        ops.push({
          kind: 'counter',
          key: period.key,
          delta: Math.max(reservation, 1e-12),
          max: budget.usd,
          based: true,
        });
        meta.push(m);
        continue;
      }
      if (m.what === 'itpm' && input < 0) input = inputEstimate(ctx, body);
      ops.push({
        kind: 'bucket',
        key: m.key,
        limit: m.bucketLimit!,
        amount: Math.min(m.what === 'itpm' ? input : maxTokens, m.limit),
      });
      meta.push(m);
    }
    if (!ops.length) return next(ctx);
    let admitted = await counters.admit(ops, now);
    // A budget's spend counter the store does not hold (new period, expired, a restarted Redis):
    // rebuilt from the ledger and asked again. The seed is set-if-missing, so replicas doing this
    // at once add the ledger's total once, not once each.
    for (let tries = 0; admitted.missing && tries < 3; tries++) {
      const op = ops[admitted.failed!]!;
      const m = meta[admitted.failed!]!;
      const period = m.period!;
      const ttlMs = Number.isFinite(period.end) ? period.end - now + 86_400_000 : undefined;
      let spent: number;
      try {
        spent = await deps.spentSince(m.subject.kind, m.subject.id, period.start);
      } catch (err) {
        throw new BedrockClaudeError(
          `The budget of ${labelOf(m.subject)} cannot be checked: the ledger that holds its spend cannot be read ` +
            `(${(err as Error).message}).`,
          {
            status: 529,
            type: 'overloaded_error',
            bedrockType: 'ServiceUnavailableException',
            retryAfter: 5,
            fix: 'Retry in a moment; the operator should check the store (see /readyz).',
          },
        );
      }
      ops.unshift({ kind: 'seed', key: op.key, value: spent, ...(ttlMs ? { ttlMs } : {}) });
      meta.unshift(m);
      admitted = await counters.admit(ops, now);
    }
    if (admitted.missing)
      throw new BedrockClaudeError('The budget counter could not be set up in the counter store.', {
        status: 529,
        type: 'overloaded_error',
        retryAfter: 1,
      });
    // The Anthropic API's headers, from the tightest bucket of each kind.
    let rpm: number | undefined;
    let itpm: number | undefined;
    let otpm: number | undefined;
    const answers = admitted.answers;
    for (let i = 0; i < answers.length; i++) {
      const a = answers[i]!;
      if (typeof a === 'number') continue;
      const what = meta[i]!.what;
      const seen = what === 'rpm' ? rpm : what === 'itpm' ? itpm : otpm;
      if (seen === undefined || a.remaining < (answers[seen] as BucketAnswer).remaining) {
        if (what === 'rpm') rpm = i;
        else if (what === 'itpm') itpm = i;
        else otpm = i;
      }
    }
    // `tokens`: the more restrictive of the input and output token limits, as the Anthropic API says it.
    const tokens =
      itpm === undefined
        ? otpm
        : otpm === undefined
          ? itpm
          : (answers[itpm] as BucketAnswer).remaining <= (answers[otpm] as BucketAnswer).remaining
            ? itpm
            : otpm;
    for (const [i, names] of [[rpm], [itpm], [otpm], [tokens, TOKEN_HEADERS]] as Array<
      [number | undefined, [string, string, string]?]
    >) {
      if (i === undefined) continue;
      const a = answers[i] as BucketAnswer;
      const n = names ?? HEADERS[meta[i]!.what]!;
      ctx.headers[n[0]] = String(meta[i]!.limit);
      ctx.headers[n[1]] = String(a.remaining);
      ctx.headers[n[2]] = RFC3339(a.fullAt);
    }
    if (!admitted.granted)
      throw refusal(ctx, ops[admitted.failed!]!, meta[admitted.failed!]!, answers[admitted.failed!]!, now);
    // On the way out: concurrency back, the token buckets and budgets settled to what was used.
    ctx.finishers.push((c) => {
      const back: CounterOp[] = [];
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i]!;
        const what = meta[i]!.what;
        if (op.kind === 'counter' && what === 'concurrency')
          back.push({ kind: 'counter', key: op.key, delta: -1, max: op.max });
        else if (op.kind === 'counter' && what === 'budget')
          back.push({
            kind: 'counter',
            key: op.key,
            delta: (c.usage.costUsd ?? 0) - op.delta,
            max: Number.POSITIVE_INFINITY,
          });
        else if (op.kind === 'bucket' && what === 'itpm')
          back.push({
            kind: 'bucket',
            key: op.key,
            limit: op.limit,
            amount: (c.usage.inputTokens ?? 0) + (c.usage.cacheWriteTokens ?? 0) - op.amount,
          });
        else if (op.kind === 'bucket' && what === 'otpm')
          back.push({ kind: 'bucket', key: op.key, limit: op.limit, amount: (c.usage.outputTokens ?? 0) - op.amount });
      }
      if (back.length)
        void (admitted.settleWith ?? counters.settle)(back, deps.clock()).catch((err: unknown) =>
          deps.onFailure?.('settle', err),
        );
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
      const fix =
        spent >= m.limit
          ? 'Ask the gateway operator to raise the budget, or wait until it resets.'
          : 'Lower max_tokens (the reservation is the input estimate plus max_tokens of output), ask for a higher ' +
            'budget, or wait until it resets.';
      return new BedrockClaudeError(
        budgetRefusal(
          who,
          spent,
          m.limit,
          m.subject.budget!.period,
          m.period!.end,
          op.kind === 'counter' ? op.delta : 0,
        ),
        { status: 403, type: 'permission_error', bedrockType: 'ServiceQuotaExceededException', fix },
      );
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
          : `The ${who} is over its limit of ${m.limit} ${m.what === 'itpm' ? 'input' : 'output'} tokens per minute ` +
            `(this request counts ${amount}).`;
    return new BedrockClaudeError(message, {
      status: 429,
      type: 'rate_limit_error',
      bedrockType: 'ThrottlingException',
      retryAfter,
      fix: 'Wait for the retry-after seconds, or ask the gateway operator for a higher limit.',
    });
  }
}
