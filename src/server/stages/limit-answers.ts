import { budgetRefusal } from '../../control/budget.js';
import type { CounterOp } from '../../control/counter-store.js';
import type { BucketAnswer } from '../../control/token-bucket.js';
import { BedrockClaudeError } from '../../errors.js';
import type { Ctx } from '../pipeline.js';
import { labelOf, type OpMeta } from './limit-plan.js';

// What the limits say back: the Anthropic API's rate-limit headers from the tightest bucket of each
// kind, and the refusals (a budget: 403; a limit: 429 with retry-after).

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

/** The Anthropic API's headers from the tightest bucket of each kind (`tokens`: the tighter of input and output). */
export function setRateHeaders(ctx: Ctx, meta: readonly OpMeta[], answers: ReadonlyArray<BucketAnswer | number>): void {
  let rpm: number | undefined;
  let itpm: number | undefined;
  let otpm: number | undefined;
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
  const remaining = (i: number) => (answers[i] as BucketAnswer).remaining;
  const tokens =
    itpm === undefined ? otpm : otpm === undefined ? itpm : remaining(itpm) <= remaining(otpm) ? itpm : otpm;
  const sets: Array<[number | undefined, [string, string, string]?]> = [[rpm], [itpm], [otpm], [tokens, TOKEN_HEADERS]];
  for (const [i, names] of sets) {
    if (i === undefined) continue;
    const a = answers[i] as BucketAnswer;
    const n = names ?? HEADERS[meta[i]!.what]!;
    ctx.headers[n[0]] = String(meta[i]!.limit);
    ctx.headers[n[1]] = String(a.remaining);
    ctx.headers[n[2]] = RFC3339(a.fullAt);
  }
}

/** Why a request is refused: the budget (403) or a limit (429), in words with the fix; the reason in the ledger. */
export function refusal(
  ctx: Ctx,
  op: CounterOp,
  m: OpMeta,
  answer: BucketAnswer | number,
  now: number,
): BedrockClaudeError {
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
    const said = budgetRefusal(
      who,
      spent,
      m.limit,
      m.subject.budget!.period,
      m.period!.end,
      op.kind === 'counter' ? op.delta : 0,
    );
    const note = ctx.key?.blockedMessage;
    return new BedrockClaudeError(note ? `${said} ${note}` : said, {
      status: 403,
      type: 'permission_error',
      bedrockType: 'ServiceQuotaExceededException',
      fix,
    });
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
