import { sealThinking, type ResponsesMeta } from './responses.js';

/**
 * Anthropic Messages answers as OpenAI Responses answers: the `response` object, and the stream's events
 * (`response.created` ... `response.completed`, each with its `sequence_number`).
 */

type Json = Record<string, unknown>;

export interface ResponseIds {
  id: string;
  created: number;
  model: string;
}

interface Usage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
}

/** Usage as Responses counts it: input includes the cached and the written tokens; reasoning is not told apart. */
export function responsesUsage(u: Partial<Usage> | undefined): Json {
  const read = u?.cache_read_input_tokens ?? 0;
  const input = (u?.input_tokens ?? 0) + read + (u?.cache_creation_input_tokens ?? 0);
  const output = u?.output_tokens ?? 0;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: read },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: input + output,
  };
}

/** Status and incomplete details from Claude's stop reason. */
export function statusOf(stop: unknown): { status: string; incomplete_details: Json | null } {
  if (stop === 'max_tokens') return { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } };
  if (stop === 'refusal') return { status: 'incomplete', incomplete_details: { reason: 'content_filter' } };
  return { status: 'completed', incomplete_details: null };
}

/** The response object around its output. */
export function responseObject(ids: ResponseIds, meta: ResponsesMeta, fields: Json): Json {
  return Object.assign(
    {
      id: ids.id,
      object: 'response',
      created_at: ids.created,
      status: 'in_progress',
      error: null,
      incomplete_details: null,
      model: ids.model,
      output: [],
      usage: null,
    },
    meta.echo,
    fields,
  );
}

/** A function call item's name and namespace, as the client named the tool. */
export function callName(meta: ResponsesMeta, name: string): Json {
  const ns = meta.namespaced.get(name);
  return ns ? { name: ns.name, namespace: ns.namespace } : { name };
}

/** A reasoning item for thinking blocks: the summary when asked, the signed thinking when asked. */
export function reasoningItem(id: string, blocks: Json[], meta: ResponsesMeta): Json {
  const text = blocks.map((b) => (typeof b['thinking'] === 'string' ? b['thinking'] : '')).join('');
  const item: Json = {
    id,
    type: 'reasoning',
    summary: meta.summary && text ? [{ type: 'summary_text', text }] : [],
  };
  if (meta.encryptedReasoning || meta.kept) {
    const sealed = sealThinking(blocks);
    if (meta.encryptedReasoning) item['encrypted_content'] = sealed;
    meta.kept?.set(id, sealed);
  }
  return item;
}

/**
 * An Anthropic Messages answer as a Responses `response`: text blocks as one `message` item (its `output_text`
 * parts), tool uses as `function_call` items, thinking as `reasoning` items.
 */
export function anthropicToResponse(body: Json, ids: ResponseIds, meta: ResponsesMeta): Json {
  const output: Json[] = [];
  let message: Json | undefined;
  const n = () => `${ids.id.replace(/^resp_/, '')}_${output.length}`;
  for (const block of (body['content'] as Json[] | undefined) ?? []) {
    // One reasoning item per thinking block, as the stream makes them.
    if (block['type'] === 'thinking' || block['type'] === 'redacted_thinking') {
      message = undefined;
      output.push(reasoningItem(`rs_${n()}`, [block], meta));
    } else if (block['type'] === 'text') {
      if (!message) {
        message = { id: `msg_${n()}`, type: 'message', role: 'assistant', status: 'completed', content: [] };
        output.push(message);
      }
      (message['content'] as Json[]).push({ type: 'output_text', text: block['text'], annotations: [], logprobs: [] });
    } else if (block['type'] === 'tool_use') {
      message = undefined;
      output.push(
        Object.assign(
          { id: `fc_${n()}`, type: 'function_call', call_id: block['id'], arguments: JSON.stringify(block['input']) },
          callName(meta, String(block['name'])),
          { status: 'completed' },
        ),
      );
    }
  }
  return responseObject(
    ids,
    meta,
    Object.assign(statusOf(body['stop_reason']), { output, usage: responsesUsage(body['usage'] as Usage) }),
  );
}
