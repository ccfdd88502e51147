import type { ResponsesMeta } from './responses.js';
import {
  callName,
  reasoningItem,
  responseObject,
  responsesUsage,
  statusOf,
  type ResponseIds,
} from './responses-response.js';

/**
 * Anthropic stream events as the Responses API's: each content block becomes an output item (or a part of the open
 * message), each delta its delta event, the end `response.completed` or `response.incomplete` with the whole response.
 * Every event carries its `sequence_number`.
 */

type Json = Record<string, unknown>;

type Block =
  | { kind: 'text'; itemId: string; outputIndex: number; contentIndex: number; literals: string[] }
  | { kind: 'tool'; item: Json; outputIndex: number; args: string }
  | { kind: 'thinking'; itemId: string; outputIndex: number; block: Json; text: string };

export interface ResponsesStreamState {
  ids: ResponseIds;
  meta: ResponsesMeta;
  seq: number;
  /** The output so far, by output index (the whole response at the end). */
  output: Json[];
  blocks: Map<number, Block>;
  /** The message item text goes into, while no other item came between. */
  message: { item: Json; outputIndex: number } | undefined;
  usage: Json | undefined;
  stop: unknown;
  /** The whole response once the stream ended with it (`response.completed` or `.incomplete`). */
  final?: Json | undefined;
}

export function newResponsesStreamState(ids: ResponseIds, meta: ResponsesMeta): ResponsesStreamState {
  return { ids, meta, seq: 0, output: [], blocks: new Map(), message: undefined, usage: undefined, stop: undefined };
}

/** One SSE event, its sequence number given. */
export function responsesEvent(state: ResponsesStreamState, type: string, fields: Json): string {
  return eventOf(state, type, JSON.stringify(fields));
}

/** One SSE event from its fields as JSON (`{...}`, written once however many events carry them). */
function eventOf(state: ResponsesStreamState, type: string, fieldsJson: string): string {
  const rest = fieldsJson === '{}' ? '}' : `,${fieldsJson.slice(1)}`;
  return `event: ${type}\ndata: {"type":${JSON.stringify(type)},"sequence_number":${state.seq++}${rest}\n\n`;
}

/** A text delta from its JSON string literal (copied, not parsed), and kept for the part's final text. */
export function responsesTextDelta(state: ResponsesStreamState, index: number, literal: string): string {
  const b = state.blocks.get(index);
  if (b?.kind !== 'text') return '';
  b.literals.push(literal);
  const seq = state.seq++;
  return (
    `event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":${seq},` +
    `"item_id":${JSON.stringify(b.itemId)},"output_index":${b.outputIndex},"content_index":${b.contentIndex},` +
    `"delta":${literal},"logprobs":[]}\n\n`
  );
}

const textOf = (literals: string[]): string =>
  JSON.parse(`"${literals.map((l) => l.slice(1, -1)).join('')}"`) as string;
const itemId = (state: ResponsesStreamState, prefix: string) =>
  `${prefix}_${state.ids.id.replace(/^resp_/, '')}_${state.output.length}`;

function closeMessage(state: ResponsesStreamState): string {
  const m = state.message;
  if (!m) return '';
  state.message = undefined;
  m.item['status'] = 'completed';
  return responsesEvent(state, 'response.output_item.done', { output_index: m.outputIndex, item: m.item });
}

function startText(state: ResponsesStreamState, index: number): string {
  let out = '';
  if (!state.message) {
    const item: Json = {
      id: itemId(state, 'msg'),
      type: 'message',
      status: 'in_progress',
      role: 'assistant',
      content: [],
    };
    state.message = { item, outputIndex: state.output.length };
    state.output.push(item);
    out += responsesEvent(state, 'response.output_item.added', { output_index: state.message.outputIndex, item });
  }
  const { item, outputIndex } = state.message;
  const contentIndex = (item['content'] as Json[]).length;
  (item['content'] as Json[]).push({ type: 'output_text', text: '', annotations: [], logprobs: [] });
  state.blocks.set(index, { kind: 'text', itemId: String(item['id']), outputIndex, contentIndex, literals: [] });
  return (
    out +
    responsesEvent(state, 'response.content_part.added', {
      item_id: item['id'],
      output_index: outputIndex,
      content_index: contentIndex,
      part: { type: 'output_text', text: '', annotations: [] },
    })
  );
}

function startBlock(state: ResponsesStreamState, index: number, block: Json): string {
  if (block['type'] === 'text') return startText(state, index);
  let out = closeMessage(state);
  const outputIndex = state.output.length;
  if (block['type'] === 'tool_use') {
    const item = Object.assign(
      { id: itemId(state, 'fc'), type: 'function_call', call_id: block['id'], arguments: '' },
      callName(state.meta, String(block['name'])),
      { status: 'in_progress' },
    );
    state.output.push(item);
    state.blocks.set(index, { kind: 'tool', item, outputIndex, args: '' });
    return out + responsesEvent(state, 'response.output_item.added', { output_index: outputIndex, item });
  }
  if (block['type'] === 'thinking' || block['type'] === 'redacted_thinking') {
    const id = itemId(state, 'rs');
    state.output.push({ id, type: 'reasoning', summary: [] });
    state.blocks.set(index, { kind: 'thinking', itemId: id, outputIndex, block: Object.assign({}, block), text: '' });
    out += responsesEvent(state, 'response.output_item.added', {
      output_index: outputIndex,
      item: { id, type: 'reasoning', summary: [] },
    });
    if (state.meta.summary && block['type'] === 'thinking')
      out += responsesEvent(state, 'response.reasoning_summary_part.added', {
        item_id: id,
        output_index: outputIndex,
        summary_index: 0,
        part: { type: 'summary_text', text: '' },
      });
    return out;
  }
  return out;
}

function delta(state: ResponsesStreamState, index: number, d: Json): string {
  const b = state.blocks.get(index);
  if (!b) return '';
  if (b.kind === 'text' && d['type'] === 'text_delta')
    return responsesTextDelta(state, index, JSON.stringify(d['text']));
  if (b.kind === 'tool' && d['type'] === 'input_json_delta') {
    b.args += String(d['partial_json'] ?? '');
    const item_id = b.item['id'];
    return responsesEvent(state, 'response.function_call_arguments.delta', {
      item_id,
      output_index: b.outputIndex,
      delta: d['partial_json'],
    });
  }
  if (b.kind === 'thinking' && d['type'] === 'thinking_delta') {
    b.text += String(d['thinking'] ?? '');
    b.block['thinking'] = b.text;
    if (!state.meta.summary) return '';
    return responsesEvent(state, 'response.reasoning_summary_text.delta', {
      item_id: b.itemId,
      output_index: b.outputIndex,
      summary_index: 0,
      delta: d['thinking'],
    });
  }
  if (b.kind === 'thinking' && d['type'] === 'signature_delta') b.block['signature'] = d['signature'];
  return '';
}

function stopBlock(state: ResponsesStreamState, index: number): string {
  const b = state.blocks.get(index);
  if (!b) return '';
  state.blocks.delete(index);
  if (b.kind === 'text') {
    const text = textOf(b.literals);
    const part = { type: 'output_text', text, annotations: [], logprobs: [] };
    (state.message?.item['content'] as Json[] | undefined)?.splice(b.contentIndex, 1, part);
    const at = { item_id: b.itemId, output_index: b.outputIndex, content_index: b.contentIndex };
    return (
      responsesEvent(state, 'response.output_text.done', Object.assign({ text, logprobs: [] }, at)) +
      responsesEvent(state, 'response.content_part.done', Object.assign({ part }, at))
    );
  }
  if (b.kind === 'tool') {
    Object.assign(b.item, { arguments: b.args || '{}', status: 'completed' });
    const at = { item_id: b.item['id'], output_index: b.outputIndex };
    return (
      responsesEvent(
        state,
        'response.function_call_arguments.done',
        Object.assign({ arguments: b.item['arguments'] }, at),
      ) + responsesEvent(state, 'response.output_item.done', { output_index: b.outputIndex, item: b.item })
    );
  }
  const item = reasoningItem(b.itemId, [b.block], state.meta);
  state.output[b.outputIndex] = item;
  let out = '';
  if (state.meta.summary && b.block['type'] === 'thinking') {
    const at = { item_id: b.itemId, output_index: b.outputIndex, summary_index: 0 };
    out +=
      responsesEvent(state, 'response.reasoning_summary_text.done', Object.assign({ text: b.text }, at)) +
      responsesEvent(
        state,
        'response.reasoning_summary_part.done',
        Object.assign({ part: { type: 'summary_text', text: b.text } }, at),
      );
  }
  return out + responsesEvent(state, 'response.output_item.done', { output_index: b.outputIndex, item });
}

/** The whole response as it stands (for the first and last events). */
export function responseNow(state: ResponsesStreamState, fields: Json): Json {
  return responseObject(state.ids, state.meta, Object.assign({ output: state.output }, fields));
}

/** One Anthropic event as Responses events (SSE text). */
export function anthropicEventToResponses(event: Json, state: ResponsesStreamState): string {
  const index = Number(event['index']);
  switch (event['type']) {
    case 'message_start': {
      state.usage = (event['message'] as Json | undefined)?.['usage'] as Json | undefined;
      const fields = JSON.stringify({ response: responseNow(state, {}) });
      return eventOf(state, 'response.created', fields) + eventOf(state, 'response.in_progress', fields);
    }
    case 'content_block_start':
      return startBlock(state, index, (event['content_block'] ?? {}) as Json);
    case 'content_block_delta':
      return delta(state, index, (event['delta'] ?? {}) as Json);
    case 'content_block_stop':
      return stopBlock(state, index);
    case 'message_delta':
      state.stop = (event['delta'] as Json | undefined)?.['stop_reason'];
      state.usage = Object.assign({}, state.usage, event['usage'] as Json | undefined);
      return '';
    case 'message_stop': {
      const out = closeMessage(state);
      const { status, incomplete_details } = statusOf(state.stop);
      const response = responseNow(state, { status, incomplete_details, usage: responsesUsage(state.usage) });
      state.final = response;
      return (
        out + responsesEvent(state, status === 'completed' ? 'response.completed' : 'response.incomplete', { response })
      );
    }
    default:
      return '';
  }
}

/** A stream that failed: `response.failed` with the error, as OpenAI ends one. */
export function responsesFailed(state: ResponsesStreamState, error: { code: string; message: string }): string {
  return responsesEvent(state, 'response.failed', {
    response: responseNow(state, { status: 'failed', error }),
  });
}
