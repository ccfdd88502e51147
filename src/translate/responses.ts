import { openAIToAnthropic, type OpenAIDecodeOptions } from './openai.js';
import { openAIInvalid } from './openai-params.js';

/**
 * OpenAI Responses API requests as Anthropic Messages requests. The input items become chat-completions messages and
 * the parameters chat-completions parameters, so that one translation (translate/openai.ts) checks and maps them the
 * same way for both OpenAI fronts; what only Responses has is done here: items, `instructions`, `text.format`,
 * `reasoning`, tools in a namespace, hosted tools, and Claude's signed thinking sent back as `reasoning` items.
 */

type Json = Record<string, unknown>;

/** What the answer needs of the request: the echo of its settings, and how to name tools back. */
export interface ResponsesMeta {
  /** Claude's tool name → the client's (namespace, name), for tools that were in a namespace. */
  namespaced: Map<string, { namespace: string; name: string }>;
  /** Whether reasoning items carry Claude's signed thinking (`include: ["reasoning.encrypted_content"]`). */
  encryptedReasoning: boolean;
  /** Whether reasoning items carry the thinking as a summary (`reasoning.summary` set). */
  summary: boolean;
  /** The request's own settings, echoed in the response object. */
  echo: Json;
  /** Hosted tools the client sent disabled, dropped (said in `dropped`). */
  dropped: string[];
  /** When the response is kept: each reasoning item's signed thinking (by item id), for `previous_response_id`. */
  kept?: Map<string, string> | undefined;
}

/** Every Responses parameter this translation knows: the rest are refused by name. */
const ACCEPTED = new Set([
  'model',
  'input',
  'instructions',
  'max_output_tokens',
  'temperature',
  'top_p',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'text',
  'reasoning',
  'stream',
  'stream_options',
  'store',
  'previous_response_id',
  'metadata',
  'client_metadata',
  'user',
  'safety_identifier',
  'prompt_cache_key',
  'include',
  'truncation',
  'service_tier',
  'background',
  'top_logprobs',
  'max_tool_calls',
  'prompt',
  'conversation',
]);

const REFUSED: Record<string, (v: unknown) => string | undefined> = {
  background: (v) => (v === true ? 'Background responses are not available: call without background.' : undefined),
  top_logprobs: (v) => (typeof v === 'number' && v > 0 ? 'Claude does not return log probabilities.' : undefined),
  prompt: (v) => (v ? 'Stored prompts (prompt) are not available: send the instructions and input.' : undefined),
  conversation: (v) =>
    v ? 'Conversations are not available: send the input, or use previous_response_id.' : undefined,
};

const HOSTED = new Set([
  'web_search',
  'web_search_preview',
  'file_search',
  'code_interpreter',
  'computer_use_preview',
  'computer',
  'mcp',
  'image_generation',
  'local_shell',
  'shell',
  'apply_patch',
]);

/** A Claude tool name for a namespaced function (letters, digits, _ and - only, at most 64). */
function flatName(namespace: string, name: string): string {
  return `${namespace}__${name}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
}

/** The client's tools as chat-completions function tools; namespaces flattened, hosted tools refused or dropped. */
function toolsOf(value: unknown, meta: ResponsesMeta): Json[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw openAIInvalid("Invalid type for 'tools': expected an array.", 'tools');
  const out: Json[] = [];
  const fn = (t: Json, name: string) => ({
    type: 'function',
    function: Object.assign(
      { name, parameters: t['parameters'] ?? { type: 'object', properties: {} } },
      typeof t['description'] === 'string' ? { description: t['description'] } : {},
    ),
  });
  value.forEach((raw: unknown, i) => {
    const t = (raw ?? {}) as Json;
    const type = String(t['type']);
    if (type === 'function' && typeof t['name'] === 'string') out.push(fn(t, t['name']));
    else if (type === 'namespace' && typeof t['name'] === 'string' && Array.isArray(t['tools'])) {
      for (const inner of t['tools'] as Json[]) {
        if (inner['type'] !== 'function' || typeof inner['name'] !== 'string') continue;
        const flat = flatName(t['name'], inner['name']);
        meta.namespaced.set(flat, { namespace: t['name'], name: inner['name'] });
        out.push(fn(inner, flat));
      }
    } else if (HOSTED.has(type)) {
      // A client that sends a hosted tool switched off (Codex: web_search without outside access) loses nothing.
      if (t['external_web_access'] === false) meta.dropped.push(`tools[${i}]:${type}`);
      else
        throw openAIInvalid(
          `The hosted tool '${type}' is not available on Claude on Bedrock: define it as a function tool your ` +
            'code runs.',
          `tools[${i}].type`,
        );
    } else throw openAIInvalid(`Invalid 'tools[${i}]': expected a function or namespace tool.`, `tools[${i}]`);
  });
  return out;
}

/** `tool_choice` as chat completions says it. */
function toolChoiceOf(value: unknown, meta: ResponsesMeta): unknown {
  if (value === undefined || value === null || typeof value === 'string') return value;
  const c = value as Json;
  if (c['type'] === 'function' && typeof c['name'] === 'string') {
    const flat = [...meta.namespaced].find(([, v]) => v.name === c['name'])?.[0];
    return { type: 'function', function: { name: flat ?? c['name'] } };
  }
  throw openAIInvalid(
    'Invalid \'tool_choice\': expected auto, none, required or {"type": "function", "name": ...}.',
    'tool_choice',
  );
}

/** A message item's content parts as chat-completions parts. */
function partsOf(content: unknown, param: string): unknown {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content))
    throw openAIInvalid(`Invalid type for '${param}': expected a string or an array of content parts.`, param);
  return content.map((raw: unknown, i) => {
    const p = (raw ?? {}) as Json;
    switch (p['type']) {
      case 'input_text':
      case 'output_text':
        return { type: 'text', text: p['text'] };
      case 'refusal':
        return { type: 'text', text: p['refusal'] };
      case 'input_image':
        if (p['file_id'])
          throw openAIInvalid(
            'Uploaded files (file_id) are not available here: send the image as a data URL.',
            `${param}[${i}].file_id`,
          );
        return { type: 'image_url', image_url: { url: p['image_url'] } };
      case 'input_file':
        return { type: 'file', file: { file_data: p['file_data'], filename: p['filename'], file_id: p['file_id'] } };
      default:
        throw openAIInvalid(
          `Invalid content part type '${String(p['type'])}' in '${param}[${i}]': use input_text, input_image or ` +
            'input_file.',
          `${param}[${i}].type`,
        );
    }
  });
}

/** Claude's signed thinking as a reasoning item's `encrypted_content`, and back. */
export function sealThinking(blocks: Json[]): string {
  return Buffer.from(JSON.stringify(blocks)).toString('base64url');
}
function unsealThinking(value: unknown, param: string): Json[] {
  try {
    const blocks = JSON.parse(Buffer.from(String(value), 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(blocks) &&
      blocks.every((b) => (b as Json)['type'] === 'thinking' || (b as Json)['type'] === 'redacted_thinking')
    )
      return blocks as Json[];
  } catch {
    // refused below
  }
  throw openAIInvalid(`Invalid '${param}': not reasoning this gateway produced.`, param);
}

interface Items {
  messages: Json[];
  /** Thinking blocks to put before a tool call (by its call id): Claude needs them back with its tool use. */
  thinking: Map<string, Json[]>;
}

/** The input items as chat-completions messages; reasoning kept for the tool call it came before. */
function itemsOf(input: unknown): Items {
  if (typeof input === 'string') return { messages: [{ role: 'user', content: input }], thinking: new Map() };
  if (!Array.isArray(input) || !input.length) throw openAIInvalid("Missing required parameter: 'input'.", 'input');
  const messages: Json[] = [];
  const thinking = new Map<string, Json[]>();
  let pending: Json[] = [];
  input.forEach((raw: unknown, i) => {
    const item = (raw ?? {}) as Json;
    const param = `input[${i}]`;
    const type = item['type'] ?? 'message';
    if (type === 'message') {
      const role = item['role'];
      messages.push({ role, content: partsOf(item['content'], `${param}.content`) });
    } else if (type === 'function_call') {
      const ns = typeof item['namespace'] === 'string' ? item['namespace'] : undefined;
      const name = ns ? flatName(ns, String(item['name'])) : item['name'];
      if (pending.length) thinking.set(String(item['call_id']), pending);
      pending = [];
      const call = { id: item['call_id'], type: 'function', function: { name, arguments: item['arguments'] } };
      messages.push({ role: 'assistant', content: null, tool_calls: [call] });
    } else if (type === 'function_call_output') {
      const output = typeof item['output'] === 'string' ? item['output'] : partsOf(item['output'], `${param}.output`);
      messages.push({ role: 'tool', tool_call_id: item['call_id'], content: output });
    } else if (type === 'reasoning') {
      if (item['encrypted_content'])
        pending.push(...unsealThinking(item['encrypted_content'], `${param}.encrypted_content`));
    } else if (type === 'item_reference')
      // The Responses front puts the kept item in its place; one that reaches here was never looked up.
      throw openAIInvalid(`Item with id '${String(item['id']).slice(0, 100)}' not found.`, `${param}.id`);
    else throw openAIInvalid(`Invalid input item type '${String(type)}' in '${param}'.`, `${param}.type`);
  });
  return { messages, thinking };
}

/** The chat-completions parameters a Responses request means. */
function chatParams(body: Json, meta: ResponsesMeta): Json {
  const chat: Json = { model: body['model'] };
  if (body['max_output_tokens'] !== undefined) chat['max_completion_tokens'] = body['max_output_tokens'];
  for (const k of ['temperature', 'top_p', 'parallel_tool_calls', 'stream', 'user', 'safety_identifier'])
    if (body[k] !== undefined) chat[k] = body[k];
  const tools = toolsOf(body['tools'], meta);
  if (tools?.length) chat['tools'] = tools;
  if (body['tool_choice'] !== undefined) chat['tool_choice'] = toolChoiceOf(body['tool_choice'], meta);
  const format = (body['text'] as { format?: Json } | undefined)?.format;
  if (format?.['type'] === 'json_schema')
    chat['response_format'] = { type: 'json_schema', json_schema: { name: format['name'], schema: format['schema'] } };
  else if (format) chat['response_format'] = { type: format['type'] };
  const effort = (body['reasoning'] as { effort?: unknown } | undefined)?.effort;
  if (effort !== undefined && effort !== null) chat['reasoning_effort'] = effort;
  return chat;
}

/**
 * A Responses request as the Anthropic Messages body it means, and what its answer needs (see {@link ResponsesMeta}).
 *
 * @example
 * ```ts
 * responsesToAnthropic({ model: 'claude-haiku-4-5', instructions: 'Be brief.', input: 'Hi' }, {
 *   defaultMaxTokens: 4096,
 * });
 * // body: { model: 'claude-haiku-4-5', max_tokens: 4096, system: [{ type: 'text', text: 'Be brief.' }], ... }
 * ```
 */
export function responsesToAnthropic(body: Json, options: OpenAIDecodeOptions): { body: Json; meta: ResponsesMeta } {
  for (const key of Object.keys(body))
    if (!ACCEPTED.has(key)) throw openAIInvalid(`Unrecognized request argument supplied: ${key}`, key);
  for (const [key, why] of Object.entries(REFUSED)) {
    const said = why(body[key]);
    if (said) throw openAIInvalid(said, key);
  }
  const include = Array.isArray(body['include']) ? (body['include'] as unknown[]) : [];
  const reasoning = (body['reasoning'] ?? {}) as Json;
  const meta: ResponsesMeta = {
    namespaced: new Map(),
    encryptedReasoning: include.includes('reasoning.encrypted_content'),
    summary: reasoning['summary'] !== undefined && reasoning['summary'] !== null,
    echo: {},
    dropped: [],
  };
  const chat = chatParams(body, meta);
  const { messages, thinking } = itemsOf(body['input']);
  if (typeof body['instructions'] === 'string' && body['instructions'])
    messages.unshift({ role: 'system', content: body['instructions'] });
  chat['messages'] = messages;
  const out = openAIToAnthropic(chat, options);
  if (thinking.size) putThinkingBack(out['messages'] as Json[], thinking);
  meta.echo = echoOf(body, reasoning);
  return { body: out, meta };
}

/** The request's settings as the response object repeats them (`store` false until the front keeps it). */
function echoOf(body: Json, reasoning: Json): Json {
  return {
    instructions: body['instructions'] ?? null,
    max_output_tokens: body['max_output_tokens'] ?? null,
    parallel_tool_calls: body['parallel_tool_calls'] ?? true,
    reasoning: { effort: reasoning['effort'] ?? null, summary: reasoning['summary'] ?? null },
    temperature: body['temperature'] ?? null,
    top_p: body['top_p'] ?? null,
    text: body['text'] ?? { format: { type: 'text' } },
    tool_choice: body['tool_choice'] ?? 'auto',
    tools: body['tools'] ?? [],
    metadata: body['metadata'] ?? {},
    store: false,
    previous_response_id: body['previous_response_id'] ?? null,
    truncation: 'disabled',
    user: body['user'] ?? null,
  };
}

/** Claude's thinking, sent back as reasoning items, before the tool use it led to (Claude checks its signature). */
function putThinkingBack(messages: Json[], thinking: Map<string, Json[]>): void {
  for (const m of messages) {
    if (m['role'] !== 'assistant' || !Array.isArray(m['content'])) continue;
    const blocks = m['content'] as Json[];
    const at = blocks.findIndex((b) => b['type'] === 'tool_use' && thinking.has(String(b['id'])));
    if (at >= 0) blocks.splice(0, 0, ...thinking.get(String(blocks[at]!['id']))!);
  }
}
