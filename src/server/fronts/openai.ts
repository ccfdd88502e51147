import type { Catalog } from '../../catalog/catalog.js';
import { BedrockClaudeError } from '../../errors.js';
import { toOpenAISse } from '../../translate/encode-stream.js';
import { openAIToAnthropic } from '../../translate/openai.js';
import { clientTags, openAIInvalid } from '../../translate/openai-params.js';
import {
  anthropicToOpenAIResponse,
  newOpenAIStreamState,
  openAIErrorBody,
  openAIStatus,
  type CompletionMeta,
} from '../../translate/openai-response.js';
import { emptySummary } from '../../translate/to-sse.js';
import type { MessagesResult } from '../../transport/bedrock-transport.js';
import { StateKey, type CanonicalCall, type Ctx, type Reply } from '../pipeline.js';
import type { Front } from './front.js';
import { jsonReply, retryAfterHeaders } from './replies.js';
import { fetchImages, type ImageFetchOptions } from '../fetch-images.js';

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };
const DEFAULT_MAX_TOKENS = 4096;

/** What the OpenAI front remembers of a request for its answer. */
interface OpenAICall {
  meta: CompletionMeta;
  includeUsage: boolean;
}

/** The call as the client made it (id, creation time, model, include_usage), from decode to encode. */
const OPENAI_CALL = new StateKey<OpenAICall>('openai-call');

/** An error in OpenAI's shape, with the status OpenAI would use. */
export function openAIError(ctx: Ctx, err: BedrockClaudeError): Reply {
  return jsonReply(openAIStatus(err), openAIErrorBody(err), Object.assign({}, ctx.headers, retryAfterHeaders(err)));
}

/** A request body as the JSON object OpenAI's APIs take, or the 400 they answer. */
export function parseOpenAIBody(bytes: Buffer): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw openAIInvalid(
      'We could not parse the JSON body of your request. The body must be a JSON object.',
      undefined,
      'Send the request as one JSON object ({"model": ..., "messages" or "input": ...}).',
    );
  }
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw openAIInvalid('The body of your request must be a JSON object.');
  return body as Record<string, unknown>;
}

/**
 * OpenAI's chat completions API (`POST /v1/chat/completions`), for the `openai` SDKs and the tools
 * built on them: the request becomes the canonical Anthropic call (translate/openai.ts), the answer
 * a `chat.completion` or a stream of `chat.completion.chunk`s, errors in OpenAI's shape. Keys are
 * taken as `Authorization: Bearer`, as the SDK sends them. `GET /v1/models` is the Anthropic
 * front's, in a shape both SDKs read.
 */
export function createOpenAIFront(deps: { catalog: Catalog; images?: ImageFetchOptions | undefined }): Front {
  const { catalog } = deps;
  const remoteImages = deps.images !== undefined;
  return {
    name: 'openai',
    metered: true,
    routes: [{ method: 'POST', path: '/v1/chat/completions', call: true }],

    decode(ctx: Ctx, bytes: Buffer): CanonicalCall | Promise<CanonicalCall> {
      const sent = parseOpenAIBody(bytes);
      const name = sent['model'];
      const entry = typeof name === 'string' ? catalog.find(name) : undefined;
      const body = openAIToAnthropic(sent, {
        defaultMaxTokens: Math.min(DEFAULT_MAX_TOKENS, entry?.maxOutputTokens ?? DEFAULT_MAX_TOKENS),
        remoteImages,
      });
      const stream = body['stream'] === true;
      ctx.usage.clientMetadata = clientTags(sent);
      const options = sent['stream_options'] as { include_usage?: unknown } | undefined | null;
      const call: OpenAICall = {
        meta: {
          id: `chatcmpl-${ctx.id.replace(/^req_/, '')}`,
          created: Math.floor(ctx.time / 1000),
          model: body['model'] as string,
        },
        includeUsage: stream && options?.include_usage === true,
      };
      ctx.set(OPENAI_CALL, call);
      const canonical: CanonicalCall = {
        operation: 'messages',
        model: body['model'] as string,
        request: { path: '/v1/messages', body },
        stream,
      };
      return remoteImages && JSON.stringify(body['messages']).includes('"type":"url"')
        ? fetchImages(body, deps.images!, ctx.req.signal).then(() => canonical)
        : canonical;
    },

    encode(ctx: Ctx, result: MessagesResult): Reply {
      const call = ctx.get(OPENAI_CALL);
      if (!call) throw new TypeError('encode before decode');
      if (result.kind === 'json') return jsonReply(200, anthropicToOpenAIResponse(result.body, call.meta), ctx.headers);
      const summary = (ctx.summary = emptySummary());
      return {
        status: 200,
        headers: Object.assign({}, SSE_HEADERS, ctx.headers),
        body: toOpenAISse(result, summary, newOpenAIStreamState(call.meta, call.includeUsage)),
      };
    },

    encodeError: openAIError,
  };
}
