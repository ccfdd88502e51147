import type { Usage } from '../catalog/estimate-cost.js';
import type { BedrockClaudeError } from '../errors.js';
import { stripNull } from './to-sse.js';

/** Anthropic answers, stream events and errors in OpenAI's chat completions shapes. */

type Json = Record<string, unknown>;

/** Anthropic stop reasons as OpenAI `finish_reason`s. */
export function finishReason(stop: unknown): string {
  switch (stop) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'stop';
  }
}

/** OpenAI's usage: `prompt_tokens` counts cached input, as OpenAI's does; `cached_tokens` the cache reads. */
export function openAIUsage(usage: Usage): Json {
  const read = usage.cache_read_input_tokens ?? 0;
  const prompt = usage.input_tokens + read + (usage.cache_creation_input_tokens ?? 0);
  return {
    prompt_tokens: prompt,
    completion_tokens: usage.output_tokens,
    total_tokens: prompt + usage.output_tokens,
    prompt_tokens_details: { cached_tokens: read },
  };
}

/** Who the answer is for: the id it carries, when it was made (seconds), and the model as the client named it. */
export interface CompletionMeta {
  id: string;
  created: number;
  model: string;
}

/**
 * An Anthropic message as a `chat.completion`: text joined, tool uses as `tool_calls`, thinking as `reasoning_content`.
 */
export function anthropicToOpenAIResponse(message: Json, meta: CompletionMeta): Json {
  let text = '';
  let reasoning = '';
  const calls: Json[] = [];
  for (const b of (message['content'] as Json[] | undefined) ?? []) {
    if (b['type'] === 'text') text += String(b['text']);
    else if (b['type'] === 'thinking') reasoning += String(b['thinking']);
    else if (b['type'] === 'tool_use')
      calls.push({
        id: b['id'],
        type: 'function',
        function: { name: b['name'], arguments: JSON.stringify(b['input'] ?? {}) },
      });
  }
  const msg: Json = { role: 'assistant', content: text || (calls.length ? null : ''), refusal: null };
  if (reasoning) msg['reasoning_content'] = reasoning;
  if (calls.length) msg['tool_calls'] = calls;
  return {
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, message: msg, logprobs: null, finish_reason: finishReason(message['stop_reason']) }],
    usage: openAIUsage(message['usage'] as Usage),
  };
}

/** What a chunk encoding carries between events. */
export interface OpenAIStreamState {
  meta: CompletionMeta;
  includeUsage: boolean;
  usage: Usage;
  stopReason?: string;
  /** Anthropic block index → the tool call's `index` among the answer's tool calls. */
  toolIndex: Map<number, number>;
  /** A text chunk's JSON around its content, written once per stream. */
  textChunk: [string, string];
}

export function newOpenAIStreamState(meta: CompletionMeta, includeUsage: boolean): OpenAIStreamState {
  // Made once per stream: each content delta is head + the text as JSON + tail.
  const id = JSON.stringify(meta.id);
  const model = JSON.stringify(meta.model);
  const head =
    `{"id":${id},"object":"chat.completion.chunk","created":${meta.created},"model":${model},` +
    `"choices":[{"index":0,"delta":{"content":`;
  const tail = `},"logprobs":null,"finish_reason":null}]${includeUsage ? ',"usage":null' : ''}}`;
  return {
    meta,
    includeUsage,
    usage: { input_tokens: 0, output_tokens: 0 },
    toolIndex: new Map(),
    textChunk: [head, tail],
  };
}

/**
 * The chunk of a text delta, from its text as a JSON string literal (the same JSON `anthropicEventToOpenAI` makes of
 * it).
 */
export function openAITextChunk(state: OpenAIStreamState, literal: string): string {
  return state.textChunk[0] + literal + state.textChunk[1];
}

function chunk(state: OpenAIStreamState, delta: Json, finish: string | null = null): Json {
  const out: Json = {
    id: state.meta.id,
    object: 'chat.completion.chunk',
    created: state.meta.created,
    model: state.meta.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  };
  if (state.includeUsage) out['usage'] = null;
  return out;
}

function addUsage(state: OpenAIStreamState, usage: Partial<Usage> | undefined): void {
  if (usage) Object.assign(state.usage, stripNull(usage));
}

/**
 * One Anthropic streaming event as the `chat.completion.chunk`s it becomes: text as `content`
 * deltas, thinking as `reasoning_content`, tool uses as `tool_calls` deltas with their `index`, the
 * stop reason as `finish_reason`, and (with `stream_options.include_usage`) a last chunk with usage
 * and empty `choices`.
 */
export function anthropicEventToOpenAI(event: Json, state: OpenAIStreamState): Json[] {
  switch (event['type']) {
    case 'message_start':
      addUsage(state, ((event['message'] ?? {}) as Json)['usage'] as Partial<Usage> | undefined);
      return [chunk(state, { role: 'assistant', content: '', refusal: null })];
    case 'content_block_start': {
      const cb = event['content_block'] as Json;
      if (cb['type'] !== 'tool_use') return [];
      const index = state.toolIndex.size;
      state.toolIndex.set(event['index'] as number, index);
      return [
        chunk(state, {
          tool_calls: [{ index, id: cb['id'], type: 'function', function: { name: cb['name'], arguments: '' } }],
        }),
      ];
    }
    case 'content_block_delta': {
      const d = event['delta'] as Json;
      if (d['type'] === 'text_delta') return [chunk(state, { content: d['text'] })];
      if (d['type'] === 'thinking_delta') return [chunk(state, { reasoning_content: d['thinking'] })];
      if (d['type'] === 'input_json_delta') {
        const index = state.toolIndex.get(event['index'] as number);
        return index === undefined
          ? []
          : [chunk(state, { tool_calls: [{ index, function: { arguments: d['partial_json'] } }] })];
      }
      return [];
    }
    case 'message_delta': {
      addUsage(state, event['usage'] as Partial<Usage> | undefined);
      const stop = ((event['delta'] ?? {}) as Json)['stop_reason'];
      if (typeof stop === 'string') state.stopReason = stop;
      return [chunk(state, {}, finishReason(state.stopReason))];
    }
    case 'message_stop':
      return state.includeUsage
        ? [
            {
              id: state.meta.id,
              object: 'chat.completion.chunk',
              created: state.meta.created,
              model: state.meta.model,
              choices: [],
              usage: openAIUsage(state.usage),
            },
          ]
        : [];
    default:
      return [];
  }
}

/** OpenAI's error `type` and `code` for one of our errors. */
function openAIKind(err: BedrockClaudeError): { type: string; code: string | null } {
  switch (err.type) {
    case 'authentication_error':
      return { type: 'invalid_request_error', code: 'invalid_api_key' };
    case 'permission_error':
      return { type: 'permission_error', code: 'permission_denied' };
    case 'not_found_error':
      return { type: 'invalid_request_error', code: /model/i.test(err.message) ? 'model_not_found' : 'not_found' };
    case 'rate_limit_error':
      return { type: 'rate_limit_error', code: 'rate_limit_exceeded' };
    case 'request_too_large':
      return { type: 'invalid_request_error', code: 'request_too_large' };
    case 'overloaded_error':
      return { type: 'server_error', code: 'overloaded' };
    case 'invalid_request_error':
      return { type: 'invalid_request_error', code: null };
    default:
      return { type: 'server_error', code: null };
  }
}

/** The status OpenAI would answer with (it has no 529: overload is a 503). */
export function openAIStatus(err: BedrockClaudeError): number {
  return err.status === 529 ? 503 : err.status;
}

/** An error as OpenAI's body: `{"error": {"message", "type", "param", "code"}}`, the fix in the message. */
export function openAIErrorBody(err: BedrockClaudeError): Json {
  const { type, code } = openAIKind(err);
  const param = err.param ?? null;
  return { error: { message: err.fullMessage, type, param, code } };
}
