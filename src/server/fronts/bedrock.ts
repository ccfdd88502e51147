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

/** What InvokeModel answers carry of Bedrock's own: the invocation's latency and token counts. */
const INVOCATION_HEADERS = [
  'x-amzn-bedrock-invocation-latency',
  'x-amzn-bedrock-input-token-count',
  'x-amzn-bedrock-output-token-count',
  'x-amzn-bedrock-cache-read-input-token-count',
  'x-amzn-bedrock-cache-write-input-token-count',
];

function invocationHeaders(
  upstream: Record<string, string | string[] | undefined>,
  out: Record<string, string>,
): Record<string, string> {
  for (const name of INVOCATION_HEADERS) {
    const v = upstream[name];
    if (typeof v === 'string') out[name] = v;
  }
  return out;
}

/**
 * An error as Bedrock answers it: `x-amzn-ErrorType` and `{"message"}`. The gateway adds the fix
 * to Bedrock's words; as Bedrock itself (the emulator), the words alone.
 */
export function bedrockError(ctx: Ctx, err: BedrockClaudeError, asBedrock = false): Reply {
  const out = toBedrockError(err);
  return {
    status: out.status,
    headers: Object.assign(
      { 'content-type': 'application/json' },
      out.headers,
      ctx.headers,
      { 'x-amzn-requestid': ctx.id },
      asBedrock ? undefined : retryAfterHeaders(err),
    ),
    body: JSON.stringify({ message: asBedrock ? err.message : err.fullMessage }),
  };
}

/** A body parsed as Bedrock parses it, refused in its words. */
export function parseBedrockJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw invalidRequest(
      'Malformed input request: the request body is not valid JSON, please reformat your input and try again.',
    );
  }
}

/** A model ID from its path segment, decoded once (the AWS SDKs encode `:` as `%3A`, the Anthropic SDKs leave it). */
export function modelIdFromSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw invalidRequest('The provided model identifier is invalid.');
  }
}

/** InvokeModel's operations, and the listing of inference profiles. */
export type BedrockOperation = 'invoke' | 'invoke-with-response-stream' | 'count-tokens' | 'inference-profiles';

function decodeInvoke(
  ctx: Ctx,
  bytes: Buffer,
  operation: BedrockOperation | undefined,
  asBedrock: boolean,
): CanonicalCall {
  const modelId = modelIdFromSegment(ctx.params[0]!);
  const count = operation === 'count-tokens';
  const stream = operation === 'invoke-with-response-stream';
  if (asBedrock) {
    // As Bedrock itself: the call is the InvokeModel body as sent, for validation in Bedrock's words.
    const sent = parseBedrockJson(bytes);
    const body = count ? fromCountTokensBody(sent) : (sent as Record<string, unknown>);
    return {
      operation: count ? 'count-tokens' : 'messages',
      model: modelId,
      request: { path: count ? '/v1/messages/count_tokens' : '/v1/messages', body },
      stream,
      wire: count ? body : sent,
    };
  }
  const raw = parseJsonObject(
    bytes,
    'Send the Bedrock InvokeModel body: {"anthropic_version": "bedrock-2023-05-31", "max_tokens": ..., ' +
      '"messages": [...]}.',
  );
  const { body, headers } = fromBedrockBody(count ? fromCountTokensBody(raw.value) : raw.value, modelId, stream);
  return {
    operation: count ? 'count-tokens' : 'messages',
    model: modelId,
    request: {
      path: count ? '/v1/messages/count_tokens' : '/v1/messages',
      headers,
      body,
      source: count ? undefined : raw,
    },
    stream,
  };
}

function encodeInvoke(ctx: Ctx, result: MessagesResult): Reply {
  if (result.kind === 'json') {
    if (result.raw)
      return {
        status: 200,
        headers: invocationHeaders(
          result.headers,
          Object.assign({ 'content-type': 'application/json' }, ctx.headers, { 'x-amzn-requestid': ctx.id }),
        ),
        body: result.raw,
      };
    // A count-tokens answer, reshaped from the Anthropic one.
    return jsonReply(
      200,
      ctx.call?.operation === 'count-tokens' ? { inputTokens: result.body['input_tokens'] } : result.body,
      ctx.headers,
    );
  }
  const summary = (ctx.summary = emptySummary());
  return {
    status: 200,
    headers: Object.assign(
      {
        'content-type': 'application/vnd.amazon.eventstream',
        'x-amzn-bedrock-content-type': 'application/json',
        'x-amzn-requestid': ctx.id,
      },
      ctx.headers,
    ),
    body: toBedrockEventStream(result, summary),
  };
}

/**
 * Bedrock Runtime's InvokeModel API (`/model/{id}/invoke`, `/invoke-with-response-stream`,
 * `/count-tokens`) and the `ListInferenceProfiles` call Claude Code makes in Bedrock mode, for the
 * AWS SDK, `AnthropicBedrock` and Claude Code with `CLAUDE_CODE_USE_BEDROCK=1`. Errors in Bedrock's
 * shape; streams are Bedrock's event-stream frames, passed through as Bedrock sent them.
 */
export function createBedrockFront(deps: {
  catalog: Catalog;
  region: string;
  account?: string;
  asBedrock?: boolean;
}): Front {
  const { catalog, region } = deps;
  const account = deps.account ?? ACCOUNT;
  const asBedrock = deps.asBedrock ?? false;

  function profiles(ctx: Ctx): Reply {
    const type = new URL(ctx.req.url, 'http://x').searchParams.get('type') ?? 'SYSTEM_DEFINED';
    const summaries = type === 'APPLICATION' ? [] : systemInferenceProfiles(ctx.region ?? region, catalog, account);
    return jsonReply(
      200,
      { inferenceProfileSummaries: summaries },
      Object.assign({}, ctx.headers, { 'x-amzn-requestid': ctx.id }),
    );
  }

  const front: Front<BedrockOperation> = {
    name: 'bedrock',
    metered: true,
    routes: [
      { method: 'POST', path: INVOKE, call: true, operation: 'invoke' },
      { method: 'POST', path: STREAM, call: true, operation: 'invoke-with-response-stream' },
      { method: 'POST', path: COUNT, call: true, operation: 'count-tokens' },
      { method: 'GET', path: '/inference-profiles', serve: profiles, operation: 'inference-profiles' },
      {
        method: '*',
        path: '/model/{modelId}/*',
        unlisted: true,
        serve: (ctx) => {
          const fix =
            `This gateway serves the Bedrock routes ${describeRoutes(front)}, /model/{modelId}/converse ` +
            `and /model/{modelId}/converse-stream.`;
          throw new BedrockClaudeError(`No route for ${ctx.req.method} ${ctx.route.pathname}.`, {
            status: 404,
            type: 'not_found_error',
            bedrockType: 'UnknownOperationException',
            fix,
          });
        },
      },
    ],

    decode: (ctx, bytes, operation) => decodeInvoke(ctx, bytes, operation, asBedrock),
    encode: encodeInvoke,
    encodeError: (ctx, err) => bedrockError(ctx, err, asBedrock),
  };
  return front;
}
