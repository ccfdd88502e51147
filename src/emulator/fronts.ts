import type { Catalog } from '../catalog/catalog.js';
import { findModelForId } from '../catalog/resolve-model.js';
import { invalidRequest } from '../errors.js';
import { bedrockError, modelIdFromSegment, parseBedrockJson } from '../server/fronts/bedrock.js';
import type { Front } from '../server/fronts/front.js';
import { jsonReply } from '../server/fronts/replies.js';
import type { CanonicalCall, Ctx, Reply } from '../server/pipeline.js';
import { anthropicToConverseResponse, converseToAnthropic } from '../translate/converse.js';
import { toAnthropicSse, toConverseStream } from '../translate/encode-stream.js';
import { emptySummary } from '../translate/to-sse.js';
import { parseBetaHeader } from '../translate/to-bedrock.js';
import type { MessagesResult } from '../transport/bedrock-transport.js';

const EVENT_STREAM = 'application/vnd.amazon.eventstream';
const asBedrockError = (ctx: Ctx, err: Parameters<typeof bedrockError>[1]) => bedrockError(ctx, err, true);

function refuse(): never {
  throw new TypeError('this front serves no model call');
}

function jsonObject(bytes: Buffer, notObject: string): Record<string, unknown> {
  const sent = parseBedrockJson(bytes);
  if (!sent || typeof sent !== 'object' || Array.isArray(sent)) throw invalidRequest(notObject);
  return sent as Record<string, unknown>;
}

/**
 * Bedrock's Converse API (`/model/{id}/converse`, `/converse-stream`), as the emulator serves it:
 * the Converse request becomes the equivalent InvokeModel body (validated as Bedrock does), and the
 * answer goes back in Converse's shape.
 */
export function createConverseFront(deps: { catalog: Catalog; anthropicVersion: string }): Front {
  return {
    name: 'bedrock',
    routes: [
      { method: 'POST', path: '/model/{modelId}/converse', call: true, operation: 'converse' },
      { method: 'POST', path: '/model/{modelId}/converse-stream', call: true, operation: 'converse-stream' },
    ],
    decode(ctx: Ctx, bytes: Buffer): CanonicalCall {
      const modelId = modelIdFromSegment(ctx.params[0]!);
      const sent = jsonObject(bytes, 'Malformed input request: the body is not a JSON object.');
      const entry = findModelForId(modelId, deps.catalog);
      const body = Object.assign({ anthropic_version: deps.anthropicVersion }, converseToAnthropic(sent, Math.min(4096, entry?.maxOutputTokens ?? 4096)));
      const stream = ctx.route.spec.operation === 'converse-stream';
      return { operation: 'messages', model: modelId, request: { path: '/v1/messages', body }, stream, wire: sent };
    },
    encode(ctx: Ctx, result: MessagesResult): Reply {
      const latency = () => Math.round(performance.now() - ctx.started);
      if (result.kind === 'json') return jsonReply(200, anthropicToConverseResponse(result.body, latency()), Object.assign({}, ctx.headers));
      const summary = (ctx.summary = emptySummary());
      return { status: 200, headers: Object.assign({ 'content-type': EVENT_STREAM }, ctx.headers), body: toConverseStream(result, summary, latency) };
    },
    encodeError: asBedrockError,
  };
}

/**
 * Bedrock's native Messages API (`POST /anthropic/v1/messages`, `/count_tokens`; SigV4 service
 * `bedrock-mantle`): Anthropic request and answer shapes, SSE streams, betas in `anthropic-beta`.
 * Validated as InvokeModel is, on the equivalent body.
 */
export function createMantleFront(deps: { anthropicVersion: string }): Front {
  return {
    name: 'anthropic',
    routes: [
      { method: 'POST', path: '/anthropic/v1/messages', call: true, operation: 'mantle-messages' },
      { method: 'POST', path: '/anthropic/v1/messages/count_tokens', call: true, operation: 'mantle-count-tokens' },
    ],
    decode(ctx: Ctx, bytes: Buffer): CanonicalCall {
      const sent = jsonObject(bytes, 'The request body must be a JSON object.');
      const { model, stream, ...rest } = sent;
      if (typeof model !== 'string') throw invalidRequest('model: Field required');
      const count = ctx.route.spec.operation === 'mantle-count-tokens';
      const betas = parseBetaHeader(ctx.req.headers['anthropic-beta']);
      const body = Object.assign({ anthropic_version: deps.anthropicVersion }, betas.length ? { anthropic_beta: betas } : {}, count ? { max_tokens: 1 } : {}, rest);
      return { operation: count ? 'count-tokens' : 'messages', model, request: { path: count ? '/v1/messages/count_tokens' : '/v1/messages', body }, stream: !count && stream === true, wire: sent };
    },
    encode(ctx: Ctx, result: MessagesResult): Reply {
      if (result.kind === 'json') return jsonReply(200, result.body, Object.assign({}, ctx.headers));
      const summary = (ctx.summary = emptySummary());
      return { status: 200, headers: Object.assign({ 'content-type': 'text/event-stream; charset=utf-8' }, ctx.headers), body: toAnthropicSse(result, summary) };
    },
    encodeError: asBedrockError,
  };
}

/** `GET /healthz` of the emulator itself. */
export function createEmulatorOpsFront(): Front {
  return {
    name: 'ops',
    routes: [{ method: 'GET', path: '/healthz', public: true, serve: () => jsonReply(200, { status: 'ok', service: 'bedrock-claude emulator' }, {}) }],
    decode: refuse,
    encode: refuse,
    encodeError: asBedrockError,
  };
}
