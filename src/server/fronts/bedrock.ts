import type { Catalog } from '../../catalog/catalog.js';
import { systemInferenceProfiles } from '../../catalog/inference-profiles.js';
import { BedrockClaudeError, invalidRequest } from '../../errors.js';
import { toBedrockEventStream } from '../../translate/encode-stream.js';
import { toBedrockError } from '../../translate/errors.js';
import { emptySummary } from '../../translate/to-sse.js';
import { fromBedrockBody, fromCountTokensBody } from '../../translate/to-bedrock.js';
import type { MessagesResult } from '../../transport/bedrock-transport.js';
import { parseJsonObject } from '../http-util.js';
import type { CanonicalCall, Ctx, Reply } from '../pipeline.js';
import { describeRoutes, type Front } from './front.js';
import { jsonReply, retryAfterHeaders } from './replies.js';

const ACCOUNT = '000000000000';
const INVOKE = '/model/{modelId}/invoke';
const STREAM = '/model/{modelId}/invoke-with-response-stream';
const COUNT = '/model/{modelId}/count-tokens';
const CONVERSE = /^\/model\/[^/]+\/converse(-stream)?$/;

/** A model ID from its path segment, decoded once (the AWS SDKs encode `:` as `%3A`, the Anthropic SDKs leave it). */
export function modelIdFromSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw invalidRequest('The provided model identifier is invalid.');
  }
}

/**
 * Bedrock Runtime's InvokeModel API (`/model/{id}/invoke`, `/invoke-with-response-stream`,
 * `/count-tokens`) and the `ListInferenceProfiles` call Claude Code makes in Bedrock mode, for the
 * AWS SDK, `AnthropicBedrock` and Claude Code with `CLAUDE_CODE_USE_BEDROCK=1`. Errors in Bedrock's
 * shape; streams are Bedrock's event-stream frames, passed through as Bedrock sent them.
 */
export function createBedrockFront(deps: { catalog: Catalog; region: string }): Front {
  const { catalog, region } = deps;

  function profiles(ctx: Ctx): Reply {
    const type = new URL(ctx.req.url, 'http://x').searchParams.get('type') ?? 'SYSTEM_DEFINED';
    const summaries = type === 'APPLICATION' ? [] : systemInferenceProfiles(region, catalog, ACCOUNT);
    return jsonReply(200, { inferenceProfileSummaries: summaries }, Object.assign({}, ctx.headers, { 'x-amzn-requestid': ctx.id }));
  }

  const front: Front = {
    name: 'bedrock',
    routes: [
      { method: 'POST', path: INVOKE, call: true },
      { method: 'POST', path: STREAM, call: true },
      { method: 'POST', path: COUNT, call: true },
      { method: 'GET', path: '/inference-profiles', serve: profiles },
      {
        method: '*',
        path: '/model/{modelId}/*',
        unlisted: true,
        serve: (ctx) => {
          const fix = CONVERSE.test(ctx.route.pathname)
            ? 'This gateway does not serve the Converse API: call InvokeModel (/model/{id}/invoke or /invoke-with-response-stream) with an Anthropic Messages body, or POST /v1/messages.'
            : `This gateway serves the Bedrock routes ${describeRoutes(front)}.`;
          throw new BedrockClaudeError(`No route for ${ctx.req.method} ${ctx.route.pathname}.`, { status: 404, type: 'not_found_error', bedrockType: 'UnknownOperationException', fix });
        },
      },
    ],

    decode(ctx: Ctx, bytes: Buffer): CanonicalCall {
      const modelId = modelIdFromSegment(ctx.params[0]!);
      const template = ctx.route.spec.path;
      const raw = parseJsonObject(bytes, 'Send the Bedrock InvokeModel body: {"anthropic_version": "bedrock-2023-05-31", "max_tokens": ..., "messages": [...]}.');
      const count = template === COUNT;
      const stream = template === STREAM;
      const { body, headers } = fromBedrockBody(count ? fromCountTokensBody(raw.value) : raw.value, modelId, stream);
      return { operation: count ? 'count-tokens' : 'messages', model: modelId, request: { path: count ? '/v1/messages/count_tokens' : '/v1/messages', headers, body, source: count ? undefined : raw }, stream };
    },

    encode(ctx: Ctx, result: MessagesResult): Reply {
      if (result.kind === 'json') {
        if (result.raw) return { status: 200, headers: Object.assign({ 'content-type': 'application/json' }, ctx.headers), body: result.raw };
        // A count-tokens answer, reshaped from the Anthropic one.
        return jsonReply(200, ctx.call?.operation === 'count-tokens' ? { inputTokens: result.body['input_tokens'] } : result.body, ctx.headers);
      }
      const summary = (ctx.summary = emptySummary());
      return { status: 200, headers: Object.assign({ 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-bedrock-content-type': 'application/json', 'x-amzn-requestid': ctx.id }, ctx.headers), body: toBedrockEventStream(result, summary) };
    },

    encodeError(ctx: Ctx, err: BedrockClaudeError): Reply {
      const out = toBedrockError(err);
      return { status: out.status, headers: Object.assign({ 'content-type': 'application/json' }, out.headers, ctx.headers, { 'x-amzn-requestid': ctx.id }, retryAfterHeaders(err)), body: JSON.stringify({ message: err.fullMessage }) };
    },
  };
  return front;
}
