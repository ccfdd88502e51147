import type { Catalog } from '../../catalog/catalog.js';
import { BedrockClaudeError } from '../../errors.js';
import { toResponsesSse } from '../../translate/encode-stream.js';
import { clientTags, openAIInvalid } from '../../translate/openai-params.js';
import { responsesToAnthropic, type ResponsesMeta } from '../../translate/responses.js';
import { anthropicToResponse, type ResponseIds } from '../../translate/responses-response.js';
import { newResponsesStreamState } from '../../translate/responses-stream.js';
import { emptySummary } from '../../translate/to-sse.js';
import type { MessagesResult } from '../../transport/bedrock-transport.js';
import { fetchImages, type ImageFetchOptions } from '../fetch-images.js';
import { StateKey, type CanonicalCall, type Ctx, type Reply, type RouteSpec } from '../pipeline.js';
import type { Front } from './front.js';
import { openAIError, parseOpenAIBody } from './openai.js';
import { jsonReply } from './replies.js';

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };
const DEFAULT_MAX_TOKENS = 4096;

const RESPONSES_CALL = new StateKey<{ ids: ResponseIds; meta: ResponsesMeta }>('responses-call');

const notKept = (ctx: Ctx): never => {
  throw new BedrockClaudeError(
    `No response found with id '${String(ctx.params[0] ?? '').slice(0, 100)}': this gateway does not keep responses.`,
    {
      status: 404,
      type: 'not_found_error',
      fix: 'Keep the output yourself, and send the conversation again as input.',
    },
  );
};

/**
 * OpenAI's paths that this gateway does not serve: a 404 in OpenAI's shape (its SDK reads it), not Anthropic's.
 * `/v1/files` is Anthropic's too: the Anthropic front says there that the Files API is not on Bedrock.
 */
const OPENAI_ONLY = [
  '/v1/embeddings',
  '/v1/moderations',
  '/v1/completions',
  '/v1/audio/*',
  '/v1/images/*',
  '/v1/realtime/*',
  ...['batches', 'fine_tuning', 'assistants', 'threads', 'vector_stores', 'uploads', 'conversations']
    .concat(['containers', 'evals'])
    .flatMap((p) => [`/v1/${p}`, `/v1/${p}/*`]),
];

const notServed = (ctx: Ctx): never => {
  throw new BedrockClaudeError(
    `This gateway does not serve ${ctx.req.method} ${ctx.route.pathname.slice(0, 200)}: it serves Claude through ` +
      'chat completions (/v1/chat/completions) and the Responses API (/v1/responses).',
    { status: 404, type: 'not_found_error' },
  );
};

/** The stored responses' routes (nothing is kept: 404), and OpenAI's paths this gateway does not serve. */
const OTHER_ROUTES: RouteSpec[] = [
  { method: 'GET', path: '/v1/responses/{id}', serve: notKept },
  { method: 'DELETE', path: '/v1/responses/{id}', serve: notKept },
  { method: 'GET', path: '/v1/responses/{id}/input_items', serve: notKept },
  ...OPENAI_ONLY.map((path): RouteSpec => ({ method: '*', path, serve: notServed, unlisted: true })),
];

/**
 * The OpenAI Responses API (`POST /v1/responses`), for Codex, the OpenAI Agents SDK and the `openai` SDK's
 * `responses.create`: the request becomes the canonical Anthropic call (translate/responses.ts), the answer a
 * `response` object or its stream of events, errors in OpenAI's shape. Responses are not kept: `store` is answered
 * as if off, and `previous_response_id` is refused with the way round it.
 */
export function createResponsesFront(deps: { catalog: Catalog; images?: ImageFetchOptions | undefined }): Front {
  const { catalog } = deps;
  const remoteImages = deps.images !== undefined;
  return {
    name: 'responses',
    metered: true,
    routes: [{ method: 'POST', path: '/v1/responses', call: true }, ...OTHER_ROUTES],

    decode(ctx: Ctx, bytes: Buffer): CanonicalCall | Promise<CanonicalCall> {
      const sent = parseOpenAIBody(bytes);
      if (sent['previous_response_id'])
        throw openAIInvalid(
          'previous_response_id: this gateway does not keep responses, so there is none to continue.',
          'previous_response_id',
          'Send the whole conversation as input (with store: false, as Codex does).',
        );
      const name = sent['model'];
      const entry = typeof name === 'string' ? catalog.find(name) : undefined;
      const { body, meta } = responsesToAnthropic(sent, {
        defaultMaxTokens: Math.min(DEFAULT_MAX_TOKENS, entry?.maxOutputTokens ?? DEFAULT_MAX_TOKENS),
        remoteImages,
      });
      if (meta.dropped.length) ctx.usage.dropped = (ctx.usage.dropped ?? []).concat(meta.dropped);
      ctx.usage.clientMetadata = clientTags(sent);
      const ids = {
        id: `resp_${ctx.id.replace(/^req_/, '')}`,
        created: Math.floor(ctx.time / 1000),
        model: String(name),
      };
      ctx.set(RESPONSES_CALL, { ids, meta });
      const canonical: CanonicalCall = {
        operation: 'messages',
        model: body['model'] as string,
        request: { path: '/v1/messages', body },
        stream: body['stream'] === true,
      };
      return remoteImages && JSON.stringify(body['messages']).includes('"type":"url"')
        ? fetchImages(body, deps.images!, ctx.req.signal).then(() => canonical)
        : canonical;
    },

    encode(ctx: Ctx, result: MessagesResult): Reply {
      const call = ctx.get(RESPONSES_CALL);
      if (!call) throw new TypeError('encode before decode');
      if (result.kind === 'json')
        return jsonReply(200, anthropicToResponse(result.body, call.ids, call.meta), ctx.headers);
      const summary = (ctx.summary = emptySummary());
      return {
        status: 200,
        headers: Object.assign({}, SSE_HEADERS, ctx.headers),
        body: toResponsesSse(result, summary, newResponsesStreamState(call.ids, call.meta)),
      };
    },

    encodeError: openAIError,
  };
}
