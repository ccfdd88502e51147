import { keyAllows } from '../../control/gateway-keys.js';
import type { Catalog } from '../../catalog/catalog.js';
import { UNSUPPORTED_APIS } from '../../catalog/unsupported-apis.js';
import { BedrockClaudeError, invalidRequest } from '../../errors.js';
import { toAnthropicSse } from '../../translate/encode-stream.js';
import { withPings } from '../../translate/pings.js';
import { toAnthropicErrorBody } from '../../translate/errors.js';
import { emptySummary } from '../../translate/to-sse.js';
import type { MessagesResult } from '../../transport/bedrock-transport.js';
import { parseJsonObject } from '../http-util.js';
import type { CanonicalCall, Ctx, Reply } from '../pipeline.js';
import type { Router } from '../targets.js';
import type { Front, RouteSpec } from './front.js';
import { jsonReply, retryAfterHeaders } from './replies.js';

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };

/**
 * The models this gateway can route, as the Models API lists them (`GET /v1/models`): each entry
 * carries the Anthropic fields (`type`, `display_name`, `created_at`) and OpenAI's (`object`,
 * `created`, `owned_by`), so the Anthropic and the OpenAI SDK both read the one list.
 */
export function listModels(catalog: Catalog, router: Router): Array<Record<string, unknown>> {
  return catalog.models
    .filter((m) => {
      if (m.lifecycle.status === 'retired') return false;
      try {
        router.targetsFor(m.name);
        return true;
      } catch {
        return false;
      }
    })
    .map((m) => {
      const created = `${m.releasedOn ?? '2025-01-01'}T00:00:00Z`;
      return {
        type: 'model',
        id: m.name,
        display_name: m.displayName,
        created_at: created,
        object: 'model',
        created: Math.floor(Date.parse(created) / 1000),
        owned_by: 'anthropic',
        // The catalog's confidence in its facts (C, S, X, U), for models of December 2026 on.
        ...(m.marks ? { facts: m.marks } : {}),
      };
    });
}

/** The error envelope of the Anthropic API, with `request-id` and `retry-after` where it applies. */
export function anthropicError(ctx: Ctx, err: BedrockClaudeError): Reply {
  return jsonReply(
    err.status,
    toAnthropicErrorBody(err, ctx.id),
    Object.assign({}, ctx.headers, retryAfterHeaders(err), NO_RETRY.has(err.status) ? DONT_RETRY : undefined),
  );
}

/** Answers the same request would get again: the SDKs are told not to retry (`x-should-retry: false`). */
const NO_RETRY = new Set([400, 401, 403, 404, 413, 422, 501]);
const DONT_RETRY = { 'x-should-retry': 'false' };

interface AnthropicDeps {
  catalog: Catalog;
  router: Router;
  region: string;
  /** `event: ping` after this much silence on a stream (default 10 s; 0: none). */
  pingMs?: number | undefined;
}

function models(ctx: Ctx, { catalog, router }: AnthropicDeps): Reply {
  // A key (or a signed-in person's policy) with a model allow-list sees only what it may call.
  const data = listModels(catalog, router).filter((m) => keyAllows(ctx.key, String(m['id'])));
  const page = {
    object: 'list',
    data,
    has_more: false,
    first_id: data[0]?.['id'] ?? null,
    last_id: data[data.length - 1]?.['id'] ?? null,
  };
  return jsonReply(200, page, ctx.headers);
}

function model(ctx: Ctx, { catalog, router, region }: AnthropicDeps): Reply {
  let wanted: string;
  try {
    wanted = decodeURIComponent(ctx.params[0]!);
  } catch {
    throw invalidRequest('The model name in the path is not valid percent-encoding.');
  }
  const entry = catalog.find(wanted);
  const listed = entry && listModels(catalog, router).find((m) => m['id'] === entry.name);
  if (!listed)
    throw new BedrockClaudeError(`Model "${wanted}" is not available in ${region}.`, {
      status: 404,
      type: 'not_found_error',
      fix: 'GET /v1/models lists what this gateway serves.',
    });
  return jsonReply(200, listed, ctx.headers);
}

/** The platform APIs Bedrock lacks: 404 with what to use instead. */
const UNSUPPORTED_ROUTES: Array<RouteSpec<never>> = UNSUPPORTED_APIS.filter((api) => !api.servedByGateway).map(
  (api) => ({
    method: '*',
    path: api.pattern,
    unlisted: true,
    serve: () => {
      throw new BedrockClaudeError(
        `${api.name.charAt(0).toUpperCase()}${api.name.slice(1)} is not available on Amazon Bedrock.`,
        { status: 404, type: 'not_found_error', fix: api.fix },
      );
    },
  }),
);

function decodeMessages(ctx: Ctx, bytes: Buffer, operation: 'messages' | 'count-tokens'): CanonicalCall {
  const source = parseJsonObject(bytes, 'Send {"model": ..., "max_tokens": ..., "messages": [...]}.');
  const body = source.value;
  const name = body['model'];
  if (typeof name !== 'string' || !name)
    throw invalidRequest('`model` is required and must be a string.', 'Set "model", e.g. "claude-sonnet-4-6".');
  if (body['stream'] !== undefined && typeof body['stream'] !== 'boolean')
    throw invalidRequest('stream: Input should be a valid boolean.', 'Send "stream": true or false (or leave it out).');
  const count = operation === 'count-tokens';
  return {
    operation: count ? 'count-tokens' : 'messages',
    model: name,
    request: {
      path: ctx.route.pathname,
      headers: {
        'anthropic-beta': ctx.req.headers['anthropic-beta'],
        'anthropic-version': ctx.req.headers['anthropic-version'],
      },
      body,
      source,
    },
    stream: !count && body['stream'] === true,
  };
}

/**
 * The Anthropic Messages API (`/v1/messages`, `/v1/messages/count_tokens`, `/v1/models`, the
 * latter for the OpenAI SDK too), as the official SDKs and Claude Code call it; the platform APIs Bedrock lacks answer
 * 404 with what to use instead.
 */
export function createAnthropicFront(deps: AnthropicDeps): Front<'messages' | 'count-tokens'> {
  return {
    name: 'anthropic',
    metered: true,
    routes: [
      { method: 'POST', path: '/v1/messages', call: true, operation: 'messages' },
      { method: 'POST', path: '/v1/messages/count_tokens', call: true, operation: 'count-tokens' },
      { method: 'GET', path: '/v1/models', serve: (ctx) => models(ctx, deps) },
      { method: 'GET', path: '/v1/models/{model}', serve: (ctx) => model(ctx, deps) },
      ...UNSUPPORTED_ROUTES,
    ],

    decode: decodeMessages,

    encode(ctx: Ctx, result: MessagesResult): Reply {
      if (result.kind === 'json')
        return result.raw
          ? {
              status: 200,
              headers: Object.assign({ 'content-type': 'application/json' }, ctx.headers),
              body: result.raw,
            }
          : jsonReply(200, result.body, ctx.headers);
      const summary = (ctx.summary = emptySummary());
      // No flushHeaders(): the headers go out with the first event (a separate header packet cost ~2 ms of TTFB).
      return {
        status: 200,
        headers: Object.assign({}, SSE_HEADERS, ctx.headers),
        body: withPings(toAnthropicSse(result, summary), deps.pingMs ?? 10_000),
      };
    },

    encodeError: anthropicError,
  };
}
