import type { Logger } from 'pino';
import { BedrockClaudeError } from '../../errors.js';
import type { KeyStore } from '../../control/key-store.js';
import { presentedKey } from '../http-util.js';
import type { Usage } from '../../catalog/estimate-cost.js';
import { reconcileUsage } from '../../translate/reconcile-usage.js';
import { deliveredOutputTokens } from '../../translate/delivered.js';
import { splitCacheWrite } from '../../check/cache-breakpoints.js';
import { keylessRefusal, type KeylessPolicy } from './keyless-guard.js';
import type { Ctx, Stage } from '../pipeline.js';
import type { UsageSink } from '../../control/usage-record.js';

/** Names the request: `request-id` on every answer, and in its usage record. */
export function requestId(newId: () => string, backendLabel: string | undefined, header = 'request-id'): Stage {
  return function requestIdStage(ctx, next) {
    const id = newId();
    ctx.id = id;
    ctx.usage.requestId = id;
    ctx.headers[header] = id;
    if (backendLabel) ctx.headers['x-bedrock-claude-backend'] = backendLabel;
    const h = ctx.req.headers;
    if (typeof h['user-agent'] === 'string') ctx.usage.userAgent = h['user-agent'].slice(0, 300);
    if (typeof h['x-claude-code-session-id'] === 'string')
      ctx.usage.session = h['x-claude-code-session-id'].slice(0, 200);
    return next(ctx);
  };
}

const gatewayFault = (cause: unknown) =>
  new BedrockClaudeError('The gateway hit an unexpected error.', { status: 500, type: 'api_error', cause });

// Stages that only look and go on are plain functions returning `next(ctx)`: an async function
// would add a promise and its ticks per stage and request. What they throw reaches `errorShape`.

/**
 * Turns whatever the rest of the chain throws into an answer in the front's own error shape. A
 * client's mistake is its `BedrockClaudeError`; anything else is ours, a 500 that is logged.
 */
export function errorShape(
  logger: Logger | undefined,
  unexpected: (cause: unknown) => BedrockClaudeError = gatewayFault,
): Stage {
  return async function errorShapeStage(ctx, next) {
    try {
      await next(ctx);
    } catch (err) {
      const gone = ctx.req.signal.aborted;
      const e = err instanceof BedrockClaudeError ? err : unexpected(err);
      if (!(err instanceof BedrockClaudeError) && !gone) logger?.error({ requestId: ctx.id, err }, 'unexpected error');
      ctx.usage.error = gone ? 'client_closed' : e.type;
      if (gone) ctx.usage.status = 499;
      ctx.reply = ctx.group.encodeError(ctx, e);
    }
  };
}

/** While the gateway drains, new requests are refused (probes and metrics still answer). */
export function drain(draining: () => boolean): Stage {
  return function drainStage(ctx, next) {
    if (draining() && !ctx.route.spec.public)
      throw new BedrockClaudeError('The gateway is shutting down.', {
        status: 529,
        type: 'overloaded_error',
        fix: 'Retry: another replica (or this one, restarted) will answer.',
        retryAfter: 1,
      });
    return next(ctx);
  };
}

/**
 * The caller's gateway key (`x-api-key` or `Authorization: Bearer`), when the gateway has keys; without keys, model
 * calls only from this machine ({@link keylessRefusal}).
 */
export function gatewayKey(keys: KeyStore, keyless: KeylessPolicy = { hosts: [] }): Stage {
  async function check(ctx: Ctx, next: (ctx: Ctx) => Promise<void>): Promise<void> {
    ctx.key = await keys.find(presentedKey(ctx.req.headers));
    if (!ctx.key)
      throw new BedrockClaudeError('Invalid or missing gateway key.', {
        status: 401,
        type: 'authentication_error',
        fix: keyFix(ctx.route.group.name),
      });
    const usage = ctx.usage;
    usage.key = ctx.key.name;
    usage.keyId = ctx.key.id;
    usage.user = ctx.key.user;
    usage.team = ctx.key.team;
    if (ctx.key.teams && ctx.key.teams.length > 1) usage.teams = ctx.key.teams.slice(1);
    return next(ctx);
  }
  return function gatewayKeyStage(ctx, next) {
    if (ctx.route.spec.public) return next(ctx);
    if (keys.enabled()) return check(ctx, next);
    const refused = ctx.route.spec.call || ctx.route.spec.owned ? keylessRefusal(ctx, keyless) : undefined;
    if (refused) throw refused;
    return next(ctx);
  };
}

/** Where a front's own clients put the gateway key, in the words of their settings. */
function keyFix(front: string): string {
  if (front === 'bedrock' || front === 'converse' || front === 'mantle')
    return (
      'Send your gateway key as a bearer token: AWS_BEARER_TOKEN_BEDROCK for the AWS SDKs and CLI (or ' +
      'Authorization: Bearer); SigV4 credentials are not gateway keys.'
    );
  if (front === 'openai' || front === 'responses')
    return 'Send your gateway key as Authorization: Bearer (OPENAI_API_KEY, or apiKey, for the OpenAI SDKs and Codex).';
  return (
    'Send your gateway key in x-api-key or Authorization: Bearer (ANTHROPIC_API_KEY / ANTHROPIC_AUTH_TOKEN for the ' +
    'SDKs and Claude Code).'
  );
}

/** What the route does: a model call through the call stages, an answer of the front's own, or not found. */
export function dispatch(
  call: (ctx: Ctx) => Promise<void>,
  notFound: (ctx: Ctx) => BedrockClaudeError,
): (ctx: Ctx) => Promise<void> {
  async function serve(ctx: Ctx): Promise<void> {
    const spec = ctx.route.spec;
    if (!spec.serve) throw notFound(ctx);
    ctx.reply = await spec.serve(ctx);
  }
  return function dispatchStage(ctx) {
    return ctx.route.spec.call ? call(ctx) : serve(ctx);
  };
}

/**
 * A stream's usage: as reported, or, when it ended without its final usage (the client left, the upstream died or
 * timed out before `message_delta`), with the output estimated from what was delivered and marked so: a stream that
 * delivered text is never charged 0 or 1 output token.
 */
function streamUsage(ctx: Ctx): Usage | undefined {
  const summary = ctx.summary;
  const usage = reconcileUsage(summary?.usage, summary?.metrics);
  if (!summary || !usage || summary.stopReason !== null || summary.metrics) return usage;
  const delivered = deliveredOutputTokens(summary.delivered);
  if (delivered <= usage.output_tokens) return usage;
  ctx.usage.usageEstimated = true;
  return Object.assign({}, usage, { output_tokens: delivered });
}

/** The tokens, the cache writes split by time to live, and the cost, into the request's usage record. */
function applyUsage(ctx: Ctx, usage: Usage, costOf: (ctx: Ctx, usage: Usage) => number | undefined): void {
  const u = ctx.usage;
  u.inputTokens = usage.input_tokens;
  u.outputTokens = usage.output_tokens;
  u.cacheReadTokens = usage.cache_read_input_tokens ?? undefined;
  u.cacheWriteTokens = usage.cache_creation_input_tokens ?? undefined;
  // The split by time to live, where Bedrock reports it; otherwise worked out from the request's breakpoints.
  let split = usage.cache_creation;
  if (!split && u.cacheWriteTokens) {
    const derived = splitCacheWrite(ctx.cacheBreakpoints ?? [], u.cacheReadTokens ?? 0, u.cacheWriteTokens);
    split = { ephemeral_5m_input_tokens: derived['5m'], ephemeral_1h_input_tokens: derived['1h'] };
  }
  u.cacheWrite1hTokens = split?.ephemeral_1h_input_tokens ?? 0;
  u.cacheWrite5mTokens =
    split?.ephemeral_5m_input_tokens ?? Math.max(0, (u.cacheWriteTokens ?? 0) - u.cacheWrite1hTokens);
  u.costUsd = costOf(ctx, split && !usage.cache_creation ? Object.assign({}, usage, { cache_creation: split }) : usage);
}

/**
 * Fills in the request's usage record once its answer is written or abandoned (tokens from the body
 * or the stream, the cost with the scope's premium, latency) and hands it to every sink.
 */
export function recordUsage(
  sinks: readonly UsageSink[],
  costOf: (ctx: Ctx, usage: Usage) => number | undefined,
  now: () => number,
  onFailure: (err: unknown) => void = () => undefined,
): Stage {
  const finish = (ctx: Ctx) => {
    const u = ctx.usage;
    u.latencyMs = now() - ctx.started;
    if (!u.status) u.status = ctx.reply?.status ?? 499;
    const result = ctx.result;
    if (result) {
      const usage = result.kind === 'json' ? reconcileUsage(result.usage, undefined, result.headers) : streamUsage(ctx);
      if (usage) applyUsage(ctx, usage, costOf);
      if (ctx.summary?.error) u.error = ctx.summary.error.type;
      if (ctx.clientGone) u.error = 'client_closed';
    }
    for (const sink of sinks) {
      try {
        const durable = sink.record(u);
        if (durable) ctx.durable = durable;
      } catch (err) {
        onFailure(err); // the others still get the record
      }
    }
  };
  return function recordUsageStage(ctx, next) {
    ctx.finishers.push(finish);
    return next(ctx);
  };
}
