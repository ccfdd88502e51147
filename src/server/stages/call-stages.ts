import type { Catalog } from '../../catalog/catalog.js';
import type { Scope } from '../../catalog/resolve-model.js';
import { modelIdTooLong } from '../../catalog/model-input.js';
import { checkRequest } from '../../check/check-request.js';
import { BedrockClaudeError, invalidRequest } from '../../errors.js';
import type { Upstream } from '../../transport/bedrock-transport.js';
import type { Target } from '../../transport/types.js';
import type { SanitizePolicy } from '../../translate/sanitize.js';
import { fromCountTokensBody, toBedrockRequest, type AnthropicHttpRequest } from '../../translate/to-bedrock.js';
import { cacheBreakpoints, type CacheBreakpoint } from '../../check/cache-breakpoints.js';
import { estimateInputTokens } from '../../check/estimate-tokens.js';
import { refusedBy } from '../../control/gateway-keys.js';
import { checkObjectCount, headerSafe } from '../http-util.js';
import { frontOf, type CanonicalCall, type Stage } from '../pipeline.js';
import type { Router } from '../targets.js';

/**
 * Reads the body, up to the limit (413 past it, from the declared length before a byte is read), and
 * refuses one of more JSON objects than the gateway checks (413 before it is parsed).
 */
export function bodyLimit(limit: number, tooLarge?: (limit: number) => BedrockClaudeError): Stage {
  return async function bodyLimitStage(ctx, next) {
    if (ctx.route.spec.public) return next(ctx);
    try {
      ctx.body = await ctx.req.body(limit);
    } catch (err) {
      throw tooLarge && err instanceof BedrockClaudeError && err.type === 'request_too_large' ? tooLarge(limit) : err;
    }
    checkObjectCount(ctx.body);
    await next(ctx);
  };
}

/** The front turns its wire format into the canonical call. */
export const decode: Stage = function decodeStage(ctx, next) {
  const call = frontOf(ctx).decode(ctx, ctx.body!, ctx.route.spec.operation);
  ctx.body = undefined;
  if (call instanceof Promise) return call.then((c) => decoded(ctx, c, next));
  return decoded(ctx, call, next);
};

function decoded(ctx: Parameters<Stage>[0], call: CanonicalCall, next: Parameters<Stage>[1]): Promise<void> {
  // Bounded where it enters: before the allow-list, the resolver, admission or the ledger see it.
  const tooLong = modelIdTooLong(call.model);
  if (tooLong) throw invalidRequest(tooLong, 'Send a model name, ID, profile ID or ARN.');
  ctx.call = call;
  ctx.usage.model = call.model;
  ctx.usage.streamed = call.stream;
  const metadata = call.request.body['metadata'] as { user_id?: unknown } | undefined;
  if (metadata && typeof metadata.user_id === 'string') ctx.usage.metadataUser = metadata.user_id.slice(0, 200);
  ctx.usage.serviceTier = serviceTierOf(call.request.body['service_tier'], ctx.req.headers[TIER_HEADER]);
  return next(ctx);
}

const TIER_HEADER = 'x-amzn-bedrock-service-tier';
const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** The service tier asked for, in the body or Bedrock's header (Claude Code's), bounded; undefined when none. */
function serviceTierOf(body: unknown, header: string | string[] | undefined): string | undefined {
  const tier = typeof body === 'string' ? body : typeof header === 'string' ? header : undefined;
  return tier && /^[a-z_-]{1,20}$/i.test(tier) ? tier.toLowerCase() : undefined;
}

/** A key with a model allow-list may call only those models (a person: theirs, their teams' and their policy's). */
export const modelAccess: Stage = function modelAccessStage(ctx, next) {
  const model = ctx.call!.model;
  const refused = refusedBy(ctx.key, model);
  if (refused !== undefined) {
    const who = ctx.key?.id?.startsWith('oidc:') ? `${ctx.key.user ?? ctx.key.name}` : `The key "${ctx.key?.name}"`;
    const why = refused.startsWith('the key') ? '' : ` (refused by ${refused})`;
    throw new BedrockClaudeError(`${who} may not call the model "${model}"${why}.`, {
      status: 403,
      type: 'permission_error',
      fix: 'Call a model your allow-list names (GET /v1/models lists them), or ask the gateway operator to allow it.',
    });
  }
  return next(ctx);
};

const ID_RULES = new Set(['on-demand-not-supported', 'model-not-in-region', 'model-id-format']);

/** Where the call goes: a configured route's targets, or the catalog's answer for the region and scope. */
export function route(router: Router, defaultPolicy: SanitizePolicy): Stage {
  const profiles = router.profiles;
  const routeTo: Stage = (ctx, next) => {
    const model = ctx.call!.model;
    ctx.targets = router.targetsFor(model);
    ctx.usage.modelName = ctx.targets[0]?.model?.name;
    ctx.policy = router.policyFor(model) ?? defaultPolicy;
    if (ctx.targets[0]?.unlisted) {
      const note = `${model} is not in the catalog: sent as ${ctx.targets[0].modelId} to bedrock-mantle, unpriced`;
      ctx.headers['x-bedrock-claude-note'] = headerSafe(note);
      ctx.usage.note = note.slice(0, 300);
    }
    return next(ctx);
  };
  return function routeStage(ctx, next) {
    // An application inference profile not known yet: Bedrock is asked what it calls (once, remembered).
    if (profiles && ctx.call!.model.includes(':application-inference-profile/'))
      return profiles.learn(ctx.call!.model).then(() => routeTo(ctx, next));
    return routeTo(ctx, next);
  };
}

/**
 * Checks what Bedrock will actually receive (after sanitising), for the first target, and refuses
 * before sending what Bedrock would refuse, with the fix. The translation is kept for the send.
 */
export function preflight(catalog: Catalog): Stage {
  return function preflightStage(ctx, next) {
    const first = ctx.targets![0]!;
    const translated = toBedrockRequest(ctx.call!.request, {
      modelId: first.modelId,
      model: first.model,
      catalog,
      policy: ctx.policy,
      backend: first.backend,
    });
    const isCount = translated.operation === 'count-tokens';
    const checked = isCount ? fromCountTokensBody(translated.body) : translated.body;
    // One estimate for the context-window rule and the budget and input-token limits after it.
    const inputTokens = estimateInputTokens(checked);
    ctx.inputTokens = inputTokens;
    const diagnostics = checkRequest({
      format: 'bedrock',
      body: checked,
      model: first.modelId,
      region: first.region,
      path: translated.operation,
      catalog,
      inputTokens,
      knownModel: first.model,
    });
    // CountTokens and bedrock-mantle take the foundation model ID, so the on-demand rule does not apply to them;
    // Claude Platform on AWS takes Anthropic names, which the ID rules do not describe.
    const bareIdOk = isCount || first.backend === 'mantle';
    const platform = first.backend === 'platform';
    const error = diagnostics.find(
      (d) =>
        d.severity === 'error' &&
        !(bareIdOk && d.code === 'on-demand-not-supported') &&
        !(platform && ID_RULES.has(d.code)),
    );
    if (error) throw invalidRequest(error.message, error.fix);
    ctx.translated = translated;
    ctx.cacheBreakpoints = cacheProfile(ctx.call!.request);
    ctx.headers['x-bedrock-claude-model-id'] = headerSafe(first.modelId);
    if (translated.removals.length) {
      const dropped = translated.removals.map((r) => r.name);
      ctx.usage.dropped = dropped;
      ctx.headers['x-bedrock-claude-dropped'] = headerSafe(dropped.join(', '));
    }
    if (diagnostics.length) {
      const warnings = diagnostics.filter((d) => d.severity === 'warning').map((d) => d.code);
      if (warnings.length) {
        ctx.usage.warnings = warnings;
        ctx.headers['x-bedrock-claude-warnings'] = warnings.join(', ');
      }
    }
    return next(ctx);
  };
}

/**
 * The request's cache breakpoints, as far as the usage record may need them to split a cache write
 * Bedrock reports only in total: none, all 5-minute (found by a text search, no walk: the common
 * case), or each breakpoint's tokens and TTL (when a 1-hour one is among them).
 */
function cacheProfile(request: AnthropicHttpRequest): Array<Pick<CacheBreakpoint, 'tokens' | 'ttl'>> | undefined {
  const text = request.source?.text;
  if (text !== undefined && !text.includes('cache_control')) return undefined;
  if (text !== undefined && !text.includes('"1h"')) return ALL_5M;
  const breakpoints = cacheBreakpoints(request.body);
  return breakpoints.length ? breakpoints : undefined;
}
const ALL_5M = [{ tokens: 0, ttl: '5m' as const }];

/**
 * Sends the call upstream (retries and failover are the transport's) and has the front encode the
 * result. The request body is let go of here: a stream can run for minutes after its first byte.
 */
/**
 * The scope a target is called in: what it is priced as when known (an application inference profile's reach), else
 * a `global.` profile, a geo profile, or in-region for a bare ID under scope `in-region`.
 */
export function scopeOf(target: Pick<Target, 'modelId' | 'pricedAs'>, gatewayScope: Scope): Scope {
  if (target.pricedAs) return target.pricedAs;
  // An inference profile's ARN is priced as its profile ID is: the part after the last `/`.
  const modelId = target.modelId;
  const id = modelId.startsWith('arn:') ? modelId.slice(modelId.lastIndexOf('/') + 1) : modelId;
  return id.startsWith('global.') ? 'global' : gatewayScope === 'global' ? 'geo' : gatewayScope;
}

export function send(upstream: Upstream, defaultScope: Scope = 'global'): (ctx: Parameters<Stage>[0]) => Promise<void> {
  return async function sendStage(ctx) {
    const tier = ctx.usage.serviceTier;
    const result = await upstream.messages(ctx.call!.request, ctx.targets!, {
      signal: ctx.req.signal,
      policy: ctx.policy,
      firstTranslated: ctx.translated,
      // Bedrock's own header passes through to the backend (the body's `service_tier` goes in the body).
      headers:
        typeof tier === 'string' && ctx.usage.serviceTier ? { [TIER_HEADER]: ctx.usage.serviceTier } : NO_HEADERS,
    });
    ctx.translated = undefined;
    ctx.result = result;
    ctx.headers['x-bedrock-claude-model-id'] = headerSafe(result.target.modelId);
    ctx.headers['x-bedrock-claude-endpoint'] = ctx.usage.endpoint = result.target.backend ?? 'invoke';
    ctx.usage.bedrockModel = result.target.modelId;
    ctx.usage.region = result.target.region;
    ctx.usage.scope = scopeOf(result.target, defaultScope);
    ctx.usage.ttfbMs = result.ttfbMs;
    ctx.reply = await frontOf(ctx).encode(ctx, result);
    ctx.call = undefined;
  };
}
