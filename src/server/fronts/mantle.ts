import { invalidRequest } from '../../errors.js';
import { toAnthropicSse } from '../../translate/encode-stream.js';
import { withPings } from '../../translate/pings.js';
import { emptySummary } from '../../translate/to-sse.js';
import { parseBetaHeader } from '../../translate/to-bedrock.js';
import type { MessagesResult } from '../../transport/bedrock-transport.js';
import { parseJsonObject } from '../http-util.js';
import type { CanonicalCall, Ctx, Reply } from '../pipeline.js';
import { anthropicError } from './anthropic.js';
import { bedrockError } from './bedrock.js';
import { bedrockJsonObject } from './converse.js';
import type { Front } from './front.js';
import { jsonReply } from './replies.js';

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };

/** As Bedrock itself (the emulator): the equivalent InvokeModel body, validated as InvokeModel is. */
function decodeAsBedrock(ctx: Ctx, bytes: Buffer, count: boolean, anthropicVersion: string): CanonicalCall {
  const sent = bedrockJsonObject(bytes, 'The request body must be a JSON object.');
  const { model, stream, ...rest } = sent;
  if (typeof model !== 'string') throw invalidRequest('model: Field required');
  const betas = parseBetaHeader(ctx.req.headers['anthropic-beta']);
  const body = Object.assign(
    { anthropic_version: anthropicVersion },
    betas.length ? { anthropic_beta: betas } : {},
    count ? { max_tokens: 1 } : {},
    rest,
  );
  return {
    operation: count ? 'count-tokens' : 'messages',
    model,
    request: { path: count ? '/v1/messages/count_tokens' : '/v1/messages', body },
    stream: !count && stream === true,
    wire: sent,
  };
}

function decodeMantle(ctx: Ctx, bytes: Buffer, count: boolean): CanonicalCall {
  const source = parseJsonObject(bytes, 'Send {"model": ..., "max_tokens": ..., "messages": [...]}.');
  const name = source.value['model'];
  if (typeof name !== 'string' || !name)
    throw invalidRequest(
      '`model` is required and must be a string.',
      'Set "model", e.g. "anthropic.claude-opus-4-7" or "claude-opus-4-7".',
    );
  if (source.value['stream'] !== undefined && typeof source.value['stream'] !== 'boolean')
    throw invalidRequest('stream: Input should be a valid boolean.', 'Send "stream": true or false (or leave it out).');
  const headers = {
    'anthropic-beta': ctx.req.headers['anthropic-beta'],
    'anthropic-version': ctx.req.headers['anthropic-version'],
  };
  return {
    operation: count ? 'count-tokens' : 'messages',
    model: name,
    request: { path: count ? '/v1/messages/count_tokens' : '/v1/messages', headers, body: source.value, source },
    stream: !count && source.value['stream'] === true,
  };
}

/**
 * Bedrock's native Messages API (`POST /anthropic/v1/messages`, `/anthropic/v1/messages/count_tokens`),
 * for `AnthropicBedrockMantle` and clients of Bedrock's native path: Anthropic request and answer
 * shapes, SSE streams, betas in `anthropic-beta`, `anthropic-version` as a header. Errors in the
 * Anthropic envelope. `asBedrock` (the emulator): the call's body is the equivalent InvokeModel
 * body, validated as InvokeModel is, and errors in Bedrock's words.
 */
export function createMantleFront(deps: {
  anthropicVersion: string;
  asBedrock?: boolean;
  /** `event: ping` after this much silence on a stream (default 10 s; 0: none, as the emulator, like Bedrock). */
  pingMs?: number | undefined;
  /** Where its paths start (default `/anthropic`; the emulator's Claude Platform on AWS: empty). */
  basePath?: string;
}): Front<'mantle-messages' | 'mantle-count-tokens'> {
  const asBedrock = deps.asBedrock ?? false;
  const base = deps.basePath ?? '/anthropic';
  return {
    name: base ? 'mantle' : 'platform',
    metered: true,
    routes: [
      { method: 'POST', path: `${base}/v1/messages`, call: true, operation: 'mantle-messages' },
      { method: 'POST', path: `${base}/v1/messages/count_tokens`, call: true, operation: 'mantle-count-tokens' },
    ],
    decode(ctx: Ctx, bytes: Buffer, operation): CanonicalCall {
      const count = operation === 'mantle-count-tokens';
      return asBedrock ? decodeAsBedrock(ctx, bytes, count, deps.anthropicVersion) : decodeMantle(ctx, bytes, count);
    },
    encode(ctx: Ctx, result: MessagesResult): Reply {
      if (result.kind === 'json') return jsonReply(200, result.body, ctx.headers);
      const summary = (ctx.summary = emptySummary());
      return {
        status: 200,
        headers: Object.assign({}, SSE_HEADERS, ctx.headers),
        body: withPings(toAnthropicSse(result, summary), deps.pingMs ?? (asBedrock ? 0 : 10_000)),
      };
    },
    encodeError: (ctx, err) => (asBedrock ? bedrockError(ctx, err, true) : anthropicError(ctx, err)),
  };
}
