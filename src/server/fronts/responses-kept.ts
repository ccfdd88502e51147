import { BedrockClaudeError } from '../../errors.js';
import { openAIInvalid } from '../../translate/openai-params.js';
import type { Ctx, Reply, RouteGroup } from '../pipeline.js';
import { ownerOf, type KeptResponse, type ResponseKeeper } from '../responses-keeper.js';
import { openAIError } from './openai.js';
import { jsonReply } from './replies.js';

type Json = Record<string, unknown>;

/** The path's response id, decoded (a malformed escape is an id no one has). */
function idOf(ctx: Ctx): string {
  const raw = String(ctx.params[0] ?? '');
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function notFound(id: string, keeper: ResponseKeeper): BedrockClaudeError {
  const why = keeper.off ? `: this gateway does not keep responses (${keeper.off})` : '.';
  return new BedrockClaudeError(`No response found with id '${id.slice(0, 100)}'${why}`, {
    status: 404,
    type: 'not_found_error',
    param: 'response_id',
    fix: keeper.off ? 'Keep the output yourself, and send the conversation again as input.' : undefined,
  });
}

async function found(ctx: Ctx, keeper: ResponseKeeper): Promise<KeptResponse> {
  const id = idOf(ctx);
  const kept = keeper.off ? undefined : await keeper.find(ownerOf(ctx.key), id);
  if (!kept) throw notFound(id, keeper);
  return kept;
}

const query = (ctx: Ctx) => new URLSearchParams(ctx.req.url.split('?')[1] ?? '');

/** `GET /v1/responses/{id}/input_items`: the conversation that went in, a page at a time (limit, order, after). */
async function inputItems(ctx: Ctx, keeper: ResponseKeeper): Promise<Reply> {
  const { input } = await found(ctx, keeper);
  const q = query(ctx);
  const limit = q.has('limit') ? Number(q.get('limit')) : 20;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    throw openAIInvalid(`Invalid 'limit': ${String(q.get('limit')).slice(0, 20)}. Expected 1 to 100.`, 'limit');
  const order = q.get('order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc')
    throw openAIInvalid(`Invalid 'order': ${order.slice(0, 20)}. Expected 'asc' or 'desc'.`, 'order');
  let items: Json[] = order === 'desc' ? input.slice().reverse() : input;
  const after = q.get('after');
  if (after !== null) items = items.slice(items.findIndex((item) => item['id'] === after) + 1);
  const data = items.slice(0, limit);
  return jsonReply(
    200,
    {
      object: 'list',
      data,
      first_id: data[0]?.['id'] ?? null,
      last_id: data[data.length - 1]?.['id'] ?? null,
      has_more: items.length > limit,
    },
    ctx.headers,
  );
}

/**
 * The kept responses' routes (`store: true`): `GET` and `DELETE /v1/responses/{id}` and its `input_items`, each the
 * caller's own (another key's response is not found, as a missing one is). Not metered: no model is called.
 */
export function createKeptResponsesGroup(keeper: ResponseKeeper): RouteGroup {
  return {
    name: 'responses-kept',
    metered: false,
    routes: [
      {
        method: 'GET',
        path: '/v1/responses/{id}',
        owned: true,
        serve: async (ctx) => {
          if (query(ctx).get('stream') === 'true')
            throw openAIInvalid(
              'Streaming a kept response again is not available: retrieve it without stream.',
              'stream',
            );
          return jsonReply(200, (await found(ctx, keeper)).response, ctx.headers);
        },
      },
      {
        method: 'DELETE',
        path: '/v1/responses/{id}',
        owned: true,
        serve: async (ctx) => {
          const id = idOf(ctx);
          if (keeper.off || !(await keeper.remove(ownerOf(ctx.key), id))) throw notFound(id, keeper);
          return jsonReply(200, { id, object: 'response', deleted: true }, ctx.headers);
        },
      },
      { method: 'GET', path: '/v1/responses/{id}/input_items', owned: true, serve: (ctx) => inputItems(ctx, keeper) },
    ],
    encodeError: openAIError,
  };
}
