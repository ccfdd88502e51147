import type { Catalog } from '../../catalog/catalog.js';
import { BedrockClaudeError } from '../../errors.js';
import { toResponsesSse } from '../../translate/encode-stream.js';
import { clientTags, openAIInvalid } from '../../translate/openai-params.js';
import { responsesToAnthropic, type ResponsesMeta } from '../../translate/responses.js';
import { anthropicToResponse, type ResponseIds } from '../../translate/responses-response.js';
import { newResponsesStreamState, type ResponsesStreamState } from '../../translate/responses-stream.js';
import { hasReferences, inputItems, keptItem, outputAsInput, responseOfItem } from '../../translate/responses-items.js';
import { ownerOf, type KeptResponse, type ResponseKeeper } from '../responses-keeper.js';
import { emptySummary } from '../../translate/to-sse.js';
import type { MessagesResult } from '../../transport/bedrock-transport.js';
import { fetchImages, type ImageFetchOptions } from '../fetch-images.js';
import { StateKey, type CanonicalCall, type Ctx, type Reply, type RouteSpec } from '../pipeline.js';
import type { Front } from './front.js';
import { openAIError, parseOpenAIBody } from './openai.js';
import { jsonReply } from './replies.js';

type Json = Record<string, unknown>;

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };
const DEFAULT_MAX_TOKENS = 4096;

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

/** OpenAI's paths this gateway does not serve (the kept responses' routes are fronts/responses-kept.ts'). */
const OTHER_ROUTES: RouteSpec[] = OPENAI_ONLY.map((path) => ({ method: '*', path, serve: notServed, unlisted: true }));

interface ResponsesCall {
  ids: ResponseIds;
  meta: ResponsesMeta;
  /** When the response is kept: the conversation that went in (earlier turns first) and whose it is. */
  keep?: { input: Json[]; owner: string } | undefined;
}

const RESPONSES_CALL = new StateKey<ResponsesCall>('responses-call');

/** A request's reads of the caller's kept responses: each read and opened once, however often it is named. */
type KeptLookup = (id: string) => Promise<KeptResponse | undefined>;

function keptLookup(ctx: Ctx, keeper: ResponseKeeper): KeptLookup {
  const owner = ownerOf(ctx.key);
  const responses = new Map<string, Promise<KeptResponse | undefined>>();
  return (id) => {
    if (!responses.has(id)) responses.set(id, keeper.find(owner, id));
    return responses.get(id)!;
  };
}

/** The earlier turns a `previous_response_id` names, as input items; a 400 when there are none to be had. */
async function earlierTurns(keeper: ResponseKeeper, kept: KeptLookup, previous: unknown): Promise<Json[]> {
  if (typeof previous !== 'string')
    throw openAIInvalid("Invalid 'previous_response_id': expected a string.", 'previous_response_id');
  if (keeper.off)
    throw openAIInvalid(
      `previous_response_id: this gateway does not keep responses (${keeper.off}), so there is none to continue.`,
      'previous_response_id',
      'Send the whole conversation as input (with store: false, as Codex does).',
    );
  const found = await kept(previous);
  if (!found)
    throw openAIInvalid(
      `Previous response with id '${previous.slice(0, 100)}' not found.`,
      'previous_response_id',
      "Kept responses are their caller's own and expire; send the whole conversation as input instead.",
    );
  return found.input.concat(outputAsInput((found.response['output'] ?? []) as Json[], found.sealed));
}

/** The input with each `item_reference` replaced by the kept item it names (the caller's own); 400 when not found. */
async function withReferences(keeper: ResponseKeeper, kept: KeptLookup, input: unknown[]): Promise<unknown[]> {
  return Promise.all(
    input.map(async (raw, i) => {
      const item = raw as Json | null;
      if (item?.['type'] !== 'item_reference') return raw;
      const id = String(item['id'] ?? '');
      if (keeper.off)
        throw openAIInvalid(
          `Invalid 'input[${i}]': an item_reference names a kept item, and this gateway does not keep responses ` +
            `(${keeper.off}).`,
          `input[${i}]`,
          'Send the item itself (with store: false, reasoning items with include: ["reasoning.encrypted_content"]).',
        );
      const response = responseOfItem(id);
      const found = response && (await kept(response));
      const resolved = found ? keptItem(found, id) : undefined;
      if (!resolved) throw openAIInvalid(`Item with id '${id.slice(0, 100)}' not found.`, `input[${i}].id`);
      return resolved;
    }),
  );
}

const hasInput = (input: unknown) => typeof input === 'string' || (Array.isArray(input) && input.length > 0);

/** The response kept (when it is to be), then its answer; a store that fails says `store: false`, and is counted. */
async function keptAnswer(ctx: Ctx, call: ResponsesCall, keeper: ResponseKeeper, response: Json): Promise<Reply> {
  if (call.keep)
    await keeper
      .keep(call.keep.owner, { response, input: call.keep.input, sealed: Object.fromEntries(call.meta.kept ?? []) })
      .catch((err: unknown) => {
        response['store'] = false;
        keeper.failed(err);
      });
  return jsonReply(200, response, ctx.headers);
}

/** The stream, the response kept before its last event goes out (so that a continuation can follow at once). */
async function* keptStream(
  body: AsyncIterable<Uint8Array>,
  state: ResponsesStreamState,
  call: ResponsesCall,
  keeper: ResponseKeeper,
): AsyncGenerator<Uint8Array> {
  let kept = false;
  for await (const chunk of body) {
    if (state.final && !kept) {
      kept = true;
      const sealed = Object.fromEntries(call.meta.kept ?? []);
      await keeper
        .keep(call.keep!.owner, { response: state.final, input: call.keep!.input, sealed })
        .catch(keeper.failed);
    }
    yield chunk;
  }
}

interface ResponsesFrontDeps {
  catalog: Catalog;
  images?: ImageFetchOptions | undefined;
  keeper: ResponseKeeper;
}

/** A request (and the earlier turns it continues) as the canonical call; what its answer needs kept in the ctx. */
function decodeSent(
  deps: ResponsesFrontDeps,
  ctx: Ctx,
  sent: Json,
  earlier: Json[] | undefined,
): CanonicalCall | Promise<CanonicalCall> {
  const { catalog, keeper } = deps;
  const remoteImages = deps.images !== undefined;
  const id = `resp_${ctx.id.replace(/^req_/, '')}`;
  const keep = !keeper.off && sent['store'] !== false;
  if (earlier && !hasInput(sent['input'])) throw openAIInvalid("Missing required parameter: 'input'.", 'input');
  const input = earlier ? earlier.concat(inputItems(sent['input'], id)) : sent['input'];
  const name = sent['model'];
  const entry = typeof name === 'string' ? catalog.find(name) : undefined;
  const { body, meta } = responsesToAnthropic(Object.assign({}, sent, { input }), {
    defaultMaxTokens: Math.min(DEFAULT_MAX_TOKENS, entry?.maxOutputTokens ?? DEFAULT_MAX_TOKENS),
    remoteImages,
  });
  if (meta.dropped.length) ctx.usage.dropped = (ctx.usage.dropped ?? []).concat(meta.dropped);
  ctx.usage.clientMetadata = clientTags(sent);
  meta.echo['store'] = keep;
  if (keep) meta.kept = new Map();
  ctx.set(RESPONSES_CALL, {
    ids: { id, created: Math.floor(ctx.time / 1000), model: String(name) },
    meta,
    keep: keep ? { input: earlier ? (input as Json[]) : inputItems(input, id), owner: ownerOf(ctx.key) } : undefined,
  });
  const canonical: CanonicalCall = {
    operation: 'messages',
    model: body['model'] as string,
    request: { path: '/v1/messages', body },
    stream: body['stream'] === true,
  };
  return remoteImages && JSON.stringify(body['messages']).includes('"type":"url"')
    ? fetchImages(body, deps.images!, ctx.req.signal).then(() => canonical)
    : canonical;
}

/**
 * The OpenAI Responses API (`POST /v1/responses`), for Codex, the OpenAI Agents SDK and the `openai` SDK's
 * `responses.create`: the request becomes the canonical Anthropic call (translate/responses.ts), the answer a
 * `response` object or its stream of events, errors in OpenAI's shape. With `store` (OpenAI's default) the response
 * is kept (server/responses-keeper.ts), and `previous_response_id` continues a kept one.
 */
export function createResponsesFront(deps: ResponsesFrontDeps): Front {
  const { keeper } = deps;

  return {
    name: 'responses',
    metered: true,
    routes: [{ method: 'POST', path: '/v1/responses', call: true }, ...OTHER_ROUTES],

    decode(ctx: Ctx, bytes: Buffer): CanonicalCall | Promise<CanonicalCall> {
      const sent = parseOpenAIBody(bytes);
      const previous = sent['previous_response_id'];
      const continues = previous !== undefined && previous !== null;
      const references = hasReferences(sent['input']);
      if (!continues && !references) return decodeSent(deps, ctx, sent, undefined);
      const kept = keptLookup(ctx, keeper);
      return Promise.all([
        continues ? earlierTurns(keeper, kept, previous) : undefined,
        references ? withReferences(keeper, kept, sent['input'] as unknown[]) : sent['input'],
      ]).then(([earlier, input]) => decodeSent(deps, ctx, Object.assign({}, sent, { input }), earlier));
    },

    encode(ctx: Ctx, result: MessagesResult): Reply | Promise<Reply> {
      const call = ctx.get(RESPONSES_CALL);
      if (!call) throw new TypeError('encode before decode');
      if (result.kind === 'json')
        return keptAnswer(ctx, call, keeper, anthropicToResponse(result.body, call.ids, call.meta));
      const summary = (ctx.summary = emptySummary());
      const state = newResponsesStreamState(call.ids, call.meta);
      const events = toResponsesSse(result, summary, state);
      return {
        status: 200,
        headers: Object.assign({}, SSE_HEADERS, ctx.headers),
        body: call.keep ? keptStream(events, state, call, keeper) : events,
      };
    },

    encodeError: openAIError,
  };
}
