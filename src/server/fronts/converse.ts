import type { Catalog } from '../../catalog/catalog.js';
import { findModelForId } from '../../catalog/resolve-model.js';
import { invalidRequest } from '../../errors.js';
import { anthropicToConverseResponse, converseToAnthropic, responseFieldPaths } from '../../translate/converse.js';
import { toConverseStream } from '../../translate/encode-stream.js';
import { emptySummary } from '../../translate/to-sse.js';
import type { MessagesResult } from '../../transport/bedrock-transport.js';
import { parseJsonObject } from '../http-util.js';
import { StateKey, type CanonicalCall, type Ctx, type Reply } from '../pipeline.js';
import { bedrockError, modelIdFromSegment, parseBedrockJson } from './bedrock.js';
import type { Front } from './front.js';
import { jsonReply } from './replies.js';

const EVENT_STREAM = 'application/vnd.amazon.eventstream';
const NO_PATHS: readonly string[] = [];

/** The most output tokens Converse asks for when `inferenceConfig.maxTokens` is left out. */
const DEFAULT_MAX_TOKENS = 4096;

/** A JSON object body, refused in Bedrock's words otherwise. */
export function bedrockJsonObject(bytes: Buffer, notObject: string): Record<string, unknown> {
  const sent = parseBedrockJson(bytes);
  if (!sent || typeof sent !== 'object' || Array.isArray(sent)) throw invalidRequest(notObject);
  return sent as Record<string, unknown>;
}

/** The request's `additionalModelResponseFieldPaths`, from decode to encode. */
const RESPONSE_FIELD_PATHS = new StateKey<string[]>('converse-response-field-paths');

/**
 * Bedrock's Converse API (`POST /model/{id}/converse`, `/converse-stream`) for the AWS SDKs'
 * `ConverseCommand` and every framework on it: the Converse request becomes the canonical Anthropic
 * call (translate/converse.ts, lossless for every block Claude takes), and the answer goes back in
 * Converse's shape, streams as ConverseStream's event-stream. Errors in Bedrock's shape.
 * `asBedrock` (the emulator): the call's body is the InvokeModel body, validated as Bedrock does.
 */
export function createConverseFront(deps: {
  catalog: Catalog;
  anthropicVersion?: string;
  asBedrock?: boolean;
  now?: () => number;
}): Front<'converse' | 'converse-stream'> {
  const asBedrock = deps.asBedrock ?? false;
  // The clock `ctx.started` was read from (the app's), for the latency Converse reports.
  const now = deps.now ?? (() => performance.now());
  const version = deps.anthropicVersion ?? deps.catalog.data.anthropicVersion;
  return {
    name: 'converse',
    metered: true,
    routes: [
      { method: 'POST', path: '/model/{modelId}/converse', call: true, operation: 'converse' },
      { method: 'POST', path: '/model/{modelId}/converse-stream', call: true, operation: 'converse-stream' },
    ],
    decode(ctx: Ctx, bytes: Buffer, operation): CanonicalCall {
      const modelId = modelIdFromSegment(ctx.params[0]!);
      const sent = asBedrock
        ? bedrockJsonObject(bytes, 'Malformed input request: the body is not a JSON object.')
        : parseJsonObject(
            bytes,
            'Send the Converse body: {"messages": [{"role": "user", "content": [{"text": "..."}]}]}.',
          ).value;
      const entry = findModelForId(modelId, deps.catalog);
      const translated = converseToAnthropic(
        sent,
        Math.min(DEFAULT_MAX_TOKENS, entry?.maxOutputTokens ?? DEFAULT_MAX_TOKENS),
      );
      const stream = operation === 'converse-stream';
      const paths = responseFieldPaths(sent);
      if (paths.length) ctx.set(RESPONSE_FIELD_PATHS, paths);
      if (asBedrock)
        return {
          operation: 'messages',
          model: modelId,
          request: { path: '/v1/messages', body: Object.assign({ anthropic_version: version }, translated) },
          stream,
          wire: sent,
        };
      const body = Object.assign({ model: modelId }, translated, stream ? { stream: true } : undefined);
      return { operation: 'messages', model: modelId, request: { path: '/v1/messages', body }, stream };
    },
    encode(ctx: Ctx, result: MessagesResult): Reply {
      const paths = ctx.get(RESPONSE_FIELD_PATHS) ?? NO_PATHS;
      const latency = () => Math.round(now() - ctx.started);
      const headers = Object.assign({}, ctx.headers, { 'x-amzn-requestid': ctx.id });
      if (result.kind === 'json')
        return jsonReply(200, anthropicToConverseResponse(result.body, latency(), paths), headers);
      const summary = (ctx.summary = emptySummary());
      return {
        status: 200,
        headers: Object.assign({ 'content-type': EVENT_STREAM }, headers),
        body: toConverseStream(result, summary, latency, paths),
      };
    },
    encodeError: (ctx, err) => bedrockError(ctx, err, asBedrock),
  };
}
