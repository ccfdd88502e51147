import type { Catalog } from '../../catalog/catalog.js';
import { estimateCost } from '../../catalog/estimate-cost.js';
import { estimateInputTokens } from '../../check/estimate-tokens.js';
import { createPeriodClock } from '../../control/budget.js';
import type { Admission, CounterOp, CounterStore } from '../../control/counter-store.js';
import type { TeamRecord } from '../../control/records.js';
import type { UsageRecord } from '../../control/usage-record.js';
import { BedrockClaudeError } from '../../errors.js';
import type { Ctx, Stage } from '../pipeline.js';
import { scopeOf } from './call-stages.js';
import { refusal, setRateHeaders } from './limit-answers.js';
import { labelOf, ledgerKind, planFor, subjectsOf, type OpMeta } from './limit-plan.js';
import type { BudgetAlerts } from '../budget-alerts.js';

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
  /** Budget alerts at their thresholds (the config's `alerts`). */
  alerts?: BudgetAlerts | undefined;
}

/** The request's input estimate: the preflight's (it made one for the context-window rule), else made here. */
const inputEstimate = (ctx: Ctx, body: Record<string, unknown>): number => ctx.inputTokens ?? estimateInputTokens(body);

type PeriodOf = ReturnType<typeof createPeriodClock>;

/** The counter ops of one request from its key's plan: fixed ones as planned, tokens and budgets from this request. */
function opsFor(ctx: Ctx, plan: readonly OpMeta[], now: number, deps: EnforcementDeps, periodOf: PeriodOf) {
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
        refuseUnpriced(ctx, m);
        if (input < 0) input = inputEstimate(ctx, body);
        reservation = worstCase(ctx, input, maxTokens, deps.catalog);
      }
      // A soft budget counts and alerts, and never refuses.
      const max = budget.soft ? Number.POSITIVE_INFINITY : budget.usd;
      ops.push({ kind: 'counter', key: period.key, delta: Math.max(reservation, 1e-12), max, based: true });
      meta.push(m);
      continue;
    }
    if (m.what === 'itpm' && input < 0) input = inputEstimate(ctx, body);
    const amount = Math.min(m.what === 'itpm' ? input : maxTokens, m.limit);
    ops.push({ kind: 'bucket', key: m.key, limit: m.bucketLimit!, amount });
    meta.push(m);
  }
  return { ops, meta };
}

/**
 * A call that a budget applies to must have a price: a target the catalog cannot price (an application inference
 * profile the gateway could not learn, a provisioned or custom-model ARN) would be reserved and recorded at $0, so it
 * is refused, with the way out.
 */
function refuseUnpriced(ctx: Ctx, m: OpMeta): void {
  // No catalog entry (an unknown ARN), or one a models file added without prices (it would count as $0).
  const unpriced = ctx.targets!.find((t) => !t.model || t.model.unpriced);
  if (!unpriced) return;
  throw new BedrockClaudeError(
    `${unpriced.modelId.slice(0, 300)} has no price bedrock-claude knows, and ${labelOf(m.subject)} has a budget: ` +
      'a call to it could not be counted against it.',
    {
      status: 400,
      type: 'invalid_request_error',
      fix:
        'For an application inference profile, name what it was made from in the config (applicationProfiles: ' +
        '{ARN: "us.anthropic..."}) or let the gateway read it (bedrock:GetInferenceProfile). Otherwise call a model ' +
        'ID or inference profile from the catalog (bedrock-claude models), or use a key without a budget: ' +
        'provisioned and custom-model ARNs have no price the gateway knows. A model your models file adds needs its ' +
        'pricing (input and output, USD per million tokens).',
    },
  );
}

/** The worst case a budget reserves: the input estimate and all of max_tokens, priced as the answer will be. */
function worstCase(ctx: Ctx, input: number, maxTokens: number, catalog: Catalog): number {
  const target = ctx.targets![0]!;
  if (!target.model) return 0;
  const worst = { input_tokens: input, output_tokens: maxTokens };
  return estimateCost(worst, target.model, scopeOf(target, 'global'), catalog, target.region).usd;
}

/**
 * A budget's spend counter the store does not hold (new period, expired, a restarted Redis): rebuilt
 * from the ledger and asked again. The seed is set-if-missing, so replicas doing this at once add the
 * ledger's total once, not once each.
 */
async function seedMissing(deps: EnforcementDeps, ops: CounterOp[], meta: OpMeta[], first: Admission, now: number) {
  let admitted = first;
  for (let tries = 0; admitted.missing && tries < 3; tries++) {
    const op = ops[admitted.failed!]!;
    const m = meta[admitted.failed!]!;
    const period = m.period!;
    const ttlMs = Number.isFinite(period.end) ? period.end - now + 86_400_000 : undefined;
    let spent: number;
    try {
      spent = await deps.spentSince(ledgerKind(m.subject), m.subject.id, period.start);
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
    admitted = await deps.counters.admit(ops, now);
  }
  if (admitted.missing)
    throw new BedrockClaudeError('The budget counter could not be set up in the counter store.', {
      status: 529,
      type: 'overloaded_error',
      retryAfter: 1,
    });
  return admitted;
}

/** A budget's spend to its alerts (a refusal for it counts as all of it). */
function alertOn(deps: EnforcementDeps, m: OpMeta, spentUsd: number, exhausted: boolean): void {
  if (deps.alerts && m.period) deps.alerts.check(m.subject, m.period, spentUsd, exhausted);
}

/** On the way out: concurrency back, the token buckets and budgets settled to what was used. */
function settlementOf(ops: readonly CounterOp[], meta: readonly OpMeta[], usage: UsageRecord): CounterOp[] {
  const back: CounterOp[] = [];
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    const what = meta[i]!.what;
    if (op.kind === 'counter' && what === 'concurrency')
      back.push({ kind: 'counter', key: op.key, delta: -1, max: op.max });
    else if (op.kind === 'counter' && what === 'budget') {
      const delta = (usage.costUsd ?? 0) - op.delta;
      back.push({ kind: 'counter', key: op.key, delta, max: Number.POSITIVE_INFINITY });
    } else if (op.kind === 'bucket' && what === 'itpm') {
      const amount = (usage.inputTokens ?? 0) + (usage.cacheWriteTokens ?? 0) - op.amount;
      back.push({ kind: 'bucket', key: op.key, limit: op.limit, amount });
    } else if (op.kind === 'bucket' && what === 'otpm')
      back.push({ kind: 'bucket', key: op.key, limit: op.limit, amount: (usage.outputTokens ?? 0) - op.amount });
  }
  return back;
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
    const { ops, meta } = opsFor(ctx, plan, now, deps, periodOf);
    if (!ops.length) return next(ctx);
    const admitted = await seedMissing(deps, ops, meta, await counters.admit(ops, now), now);
    const answers = admitted.answers;
    setRateHeaders(ctx, meta, answers);
    const failed = admitted.failed!;
    if (!admitted.granted) {
      if (meta[failed]!.what === 'budget') alertOn(deps, meta[failed]!, answers[failed] as number, true);
      throw refusal(ctx, ops[failed]!, meta[failed]!, answers[failed]!, now);
    }
    ctx.finishers.push((c) => {
      const back = settlementOf(ops, meta, c.usage);
      if (deps.alerts)
        for (let i = 0; i < ops.length; i++) {
          const op = ops[i]!;
          // The period's spend now: the counter after this request's reservation, less it, plus what it cost.
          if (meta[i]!.what === 'budget' && op.kind === 'counter')
            alertOn(deps, meta[i]!, (answers[i] as number) - op.delta + (c.usage.costUsd ?? 0), false);
        }
      if (back.length)
        void (admitted.settleWith ?? counters.settle)(back, deps.clock()).catch((err: unknown) =>
          deps.onFailure?.('settle', err),
        );
    });
    return next(ctx);
  };
}
