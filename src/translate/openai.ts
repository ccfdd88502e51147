import { ACCEPTED, openAIInvalid, REASONING_BUDGETS, refuseUnhonoured } from './openai-params.js';

/**
 * OpenAI chat completions requests ↔ Anthropic Messages requests, both ways. What Claude cannot
 * honour (`n` > 1, log probabilities, audio, penalties, logit bias) is refused with a 400 that says
 * why, never ignored; settings that only tune OpenAI's own service (`seed`, `store`, ...) are accepted
 * and have no effect (the README lists them).
 */

type Json = Record<string, unknown>;

export interface OpenAIDecodeOptions {
  /** `max_tokens` when the request sets none. */
  defaultMaxTokens: number;
  /** Pass `http(s)` image URLs on as URL image sources (for the front to fetch); refused when false. */
  remoteImages?: boolean;
}

function parts(content: unknown, param: string, options: OpenAIDecodeOptions): Json[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  if (!Array.isArray(content))
    throw openAIInvalid(`Invalid type for '${param}': expected a string or an array of content parts.`, param);
  return content.map((p: unknown, i) => {
    const part = (p ?? {}) as Json;
    const at = `${param}[${i}]`;
    switch (part['type']) {
      case 'text':
        if (typeof part['text'] !== 'string')
          throw openAIInvalid(`Invalid type for '${at}.text': expected a string.`, `${at}.text`);
        return { type: 'text', text: part['text'] };
      case 'image_url':
        return imagePart(part['image_url'], `${at}.image_url`, options);
      case 'file':
        return filePart(part['file'], `${at}.file`);
      case 'input_audio':
        throw openAIInvalid('Audio input is not supported: Claude takes text, images and documents.', at);
      case 'refusal':
        return { type: 'text', text: String(part['refusal'] ?? '') };
      default:
        throw openAIInvalid(
          `Invalid content part type '${String(part['type'])}' in '${at}': use text, image_url or file.`,
          `${at}.type`,
        );
    }
  });
}

const DATA_URL = /^data:([a-z]+\/[a-z0-9.+-]+);base64,(.*)$/is;

function imagePart(value: unknown, param: string, options: OpenAIDecodeOptions): Json {
  const url = (value as { url?: unknown } | undefined)?.url;
  if (typeof url !== 'string') throw openAIInvalid(`Missing required parameter: '${param}.url'.`, `${param}.url`);
  const data = DATA_URL.exec(url);
  if (data) return { type: 'image', source: { type: 'base64', media_type: data[1]!.toLowerCase(), data: data[2]! } };
  if (/^https?:\/\//i.test(url) && options.remoteImages) return { type: 'image', source: { type: 'url', url } };
  throw openAIInvalid(
    /^https?:\/\//i.test(url)
      ? 'This gateway does not fetch remote images.'
      : `Invalid image URL in '${param}.url': expected a data URL.`,
    `${param}.url`,
    'Send the image inline as a data URL (data:image/png;base64,...), or ask the operator to set openai.fetchImages ' +
      'in the gateway config.',
  );
}

function filePart(value: unknown, param: string): Json {
  const file = (value ?? {}) as { file_data?: unknown; filename?: unknown; file_id?: unknown };
  if (file.file_id !== undefined)
    throw openAIInvalid(
      'Uploaded files (file_id) are not available here: send the file inline as file_data.',
      `${param}.file_id`,
    );
  const data = typeof file.file_data === 'string' ? DATA_URL.exec(file.file_data) : null;
  if (!data)
    throw openAIInvalid(
      `Invalid '${param}.file_data': expected a data URL such as data:application/pdf;base64,...`,
      `${param}.file_data`,
    );
  const media = data[1]!.toLowerCase();
  const source =
    media === 'application/pdf'
      ? { type: 'base64', media_type: media, data: data[2]! }
      : media.startsWith('text/')
        ? { type: 'text', media_type: 'text/plain', data: Buffer.from(data[2]!, 'base64').toString('utf8') }
        : undefined;
  if (!source)
    throw openAIInvalid(
      `A ${media} file cannot be sent to Claude: it takes PDF and text documents.`,
      `${param}.file_data`,
    );
  const out: Json = { type: 'document', source };
  if (typeof file.filename === 'string') out['title'] = file.filename;
  return out;
}

function textOf(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content
      .map((p, i) => {
        const text = (p as Json | null)?.['text'];
        if (typeof text !== 'string')
          throw openAIInvalid(`Invalid '${param}[${i}]': only text parts are allowed here.`, `${param}[${i}]`);
        return text;
      })
      .join('');
  throw openAIInvalid(`Invalid type for '${param}': expected a string or text parts.`, param);
}

function toolUse(call: unknown, param: string): Json {
  const c = (call ?? {}) as { id?: unknown; type?: unknown; function?: { name?: unknown; arguments?: unknown } };
  if (typeof c.id !== 'string' || typeof c.function?.name !== 'string')
    throw openAIInvalid(`Missing required parameter: '${param}.id' and '${param}.function.name'.`, param);
  let input: unknown = {};
  const args = c.function.arguments;
  if (typeof args === 'string' && args.trim()) {
    try {
      input = JSON.parse(args);
    } catch {
      throw openAIInvalid(`Invalid '${param}.function.arguments': not valid JSON.`, `${param}.function.arguments`);
    }
  }
  return { type: 'tool_use', id: c.id, name: c.function.name, input };
}

interface Turn {
  role: 'user' | 'assistant';
  /** A string as the client sent it, or blocks. */
  content: string | Json[];
}

function asBlocks(content: string | Json[]): Json[] {
  return typeof content === 'string' ? [{ type: 'text', text: content }] : content;
}

function messageBlocks(m: Json, param: string, options: OpenAIDecodeOptions): Turn {
  switch (m['role']) {
    case 'user':
      return {
        role: 'user',
        content: typeof m['content'] === 'string' ? m['content'] : parts(m['content'], `${param}.content`, options),
      };
    case 'assistant': {
      const content: Json[] = [];
      if (m['content'] !== undefined && m['content'] !== null) {
        const text = textOf(
          Array.isArray(m['content'])
            ? (m['content'] as Json[]).map((p) => (p['type'] === 'refusal' ? { text: p['refusal'] } : p))
            : m['content'],
          `${param}.content`,
        );
        if (text) content.push({ type: 'text', text });
      }
      const calls = m['tool_calls'];
      if (calls !== undefined && calls !== null) {
        if (!Array.isArray(calls))
          throw openAIInvalid(`Invalid type for '${param}.tool_calls': expected an array.`, `${param}.tool_calls`);
        calls.forEach((c, i) => content.push(toolUse(c, `${param}.tool_calls[${i}]`)));
      }
      return { role: 'assistant', content };
    }
    case 'tool': {
      if (typeof m['tool_call_id'] !== 'string')
        throw openAIInvalid(`Missing required parameter: '${param}.tool_call_id'.`, `${param}.tool_call_id`);
      const content = m['content'];
      return {
        role: 'user',
        content: [
          {
            type: 'tool_result',
            tool_use_id: m['tool_call_id'],
            content: typeof content === 'string' ? content : parts(content, `${param}.content`, options),
          },
        ],
      };
    }
    case 'function':
      throw openAIInvalid(
        'Function messages are deprecated: send the result as a tool message with its tool_call_id.',
        `${param}.role`,
      );
    default:
      throw openAIInvalid(
        `Invalid value for '${param}.role': expected system, developer, user, assistant or tool.`,
        `${param}.role`,
      );
  }
}

function tools(value: unknown): Json[] {
  if (!Array.isArray(value)) throw openAIInvalid("Invalid type for 'tools': expected an array.", 'tools');
  return value.map((t: unknown, i) => {
    const fn = (t as { type?: unknown; function?: Json } | null)?.function;
    if ((t as Json | null)?.['type'] !== 'function' || !fn || typeof fn['name'] !== 'string')
      throw openAIInvalid(
        `Invalid 'tools[${i}]': expected {"type": "function", "function": {"name": ...}}.`,
        `tools[${i}]`,
      );
    const out: Json = { name: fn['name'] };
    if (typeof fn['description'] === 'string') out['description'] = fn['description'];
    out['input_schema'] = fn['parameters'] ?? { type: 'object', properties: {} };
    return out;
  });
}

function toolChoice(value: unknown, parallel: unknown): Json | undefined {
  let choice: Json | undefined;
  if (value === 'auto') choice = { type: 'auto' };
  else if (value === 'none') choice = { type: 'none' };
  else if (value === 'required') choice = { type: 'any' };
  else if (
    value &&
    typeof value === 'object' &&
    typeof (value as { function?: { name?: unknown } }).function?.name === 'string'
  )
    choice = { type: 'tool', name: (value as { function: { name: string } }).function.name };
  else if (value !== undefined && value !== null)
    throw openAIInvalid(
      'Invalid \'tool_choice\': expected auto, none, required or {"type": "function", "function": {"name": ...}}.',
      'tool_choice',
    );
  if (parallel === false) {
    choice ??= { type: 'auto' };
    if (choice['type'] !== 'none') choice['disable_parallel_tool_use'] = true;
  }
  return choice;
}

function number(body: Json, key: string, min: number, max: number, why = ''): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw openAIInvalid(`Invalid type for '${key}': expected a number.`, key);
  if (v < min || v > max) throw openAIInvalid(`Invalid '${key}': ${v} is outside ${min}–${max}${why}.`, key);
  return v;
}

/**
 * An OpenAI chat completions body as the Anthropic Messages body it means: system and developer
 * messages become `system`, tool results become `tool_result` blocks, consecutive turns of one role
 * are joined, `response_format` becomes structured output, `reasoning_effort` a thinking budget.
 *
 * @example
 * ```ts
 * openAIToAnthropic({ model: 'claude-haiku-4-5', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user',
 * content: 'Hi' }] }, { defaultMaxTokens: 4096 });
 * // { model: 'claude-haiku-4-5', max_tokens: 4096, system: [{ type: 'text', text: 'Be brief.' }], messages: [{ role:
 * 'user', content: [{ type: 'text', text: 'Hi' }] }] }
 * ```
 */
export function openAIToAnthropic(body: Json, options: OpenAIDecodeOptions): Json {
  for (const key of Object.keys(body))
    if (!ACCEPTED.has(key)) throw openAIInvalid(`Unrecognized request argument supplied: ${key}`, key);
  refuseUnhonoured(body);
  if (typeof body['model'] !== 'string' || !body['model'])
    throw openAIInvalid("Missing required parameter: 'model'.", 'model');
  if (!Array.isArray(body['messages']) || body['messages'].length === 0)
    throw openAIInvalid("Missing required parameter: 'messages'.", 'messages');
  const { system, messages } = joinTurns(body['messages'] as unknown[], options);
  const out: Json = { model: body['model'] };
  const max =
    number(body, 'max_completion_tokens', 1, Number.MAX_SAFE_INTEGER) ??
    number(body, 'max_tokens', 1, Number.MAX_SAFE_INTEGER);
  out['max_tokens'] = max ?? options.defaultMaxTokens;
  const format = body['response_format'] as ResponseFormat | undefined | null;
  if (format?.type === 'json_object')
    system.push({ type: 'text', text: 'Answer with one valid JSON object and nothing else.' });
  if (system.length) out['system'] = system;
  out['messages'] = messages;
  Object.assign(out, sampling(body));
  Object.assign(out, toolsOf(body));
  const outputConfig = structuredOutput(format);
  if (outputConfig) out['output_config'] = outputConfig;
  const effort = body['reasoning_effort'];
  if (effort !== undefined && effort !== null && effort !== 'none')
    Object.assign(out, thinkingFor(String(effort), max, options.defaultMaxTokens));
  const user = userOf(body);
  if (user) out['metadata'] = { user_id: user };
  return out;
}

/** Tools, and the tool choice (checked even without tools; sent only with them). */
function toolsOf(body: Json): Json {
  const list = body['tools'] === undefined || body['tools'] === null ? undefined : tools(body['tools']);
  const choice = toolChoice(body['tool_choice'], body['parallel_tool_calls']);
  if (!list) return {};
  return Object.assign({ tools: list }, choice ? { tool_choice: choice } : {});
}

/** `safety_identifier`, or the older `user`, as the request's user id. */
function userOf(body: Json): string | undefined {
  const user = typeof body['safety_identifier'] === 'string' ? body['safety_identifier'] : body['user'];
  return typeof user === 'string' && user ? user : undefined;
}

type ResponseFormat = { type?: unknown; json_schema?: { schema?: unknown } };

/** System and developer messages as the system prompt; the other turns, consecutive turns of one role joined. */
function joinTurns(raw: unknown[], options: OpenAIDecodeOptions): { system: Json[]; messages: Turn[] } {
  const system: Json[] = [];
  const messages: Turn[] = [];
  raw.forEach((item, i) => {
    const m = (item ?? {}) as Json;
    const param = `messages[${i}]`;
    if (m['role'] === 'system' || m['role'] === 'developer') {
      system.push({ type: 'text', text: textOf(m['content'], `${param}.content`) });
      return;
    }
    const next = messageBlocks(m, param, options);
    if (!next.content.length) return;
    const last = messages[messages.length - 1];
    if (last && last.role === next.role) last.content = asBlocks(last.content).concat(asBlocks(next.content));
    else messages.push(next);
  });
  return { system, messages };
}

/** Temperature (0 to 1 for Claude), top_p, stop sequences and stream, as Anthropic names them. */
function sampling(body: Json): Json {
  const out: Json = {};
  const temperature = number(body, 'temperature', 0, 1, ' (Claude takes a temperature from 0 to 1)');
  if (temperature !== undefined) out['temperature'] = temperature;
  const topP = number(body, 'top_p', 0, 1);
  if (topP !== undefined) out['top_p'] = topP;
  const stop = body['stop'];
  if (typeof stop === 'string') out['stop_sequences'] = [stop];
  else if (Array.isArray(stop) && stop.length) out['stop_sequences'] = stop;
  if (body['stream'] === true) out['stream'] = true;
  return out;
}

/** `response_format: json_schema` as structured output; text and json_object need none; anything else is refused. */
function structuredOutput(format: ResponseFormat | undefined | null): Json | undefined {
  if (format?.type === 'json_schema') {
    if (!format.json_schema?.schema || typeof format.json_schema.schema !== 'object')
      throw openAIInvalid(
        "Missing required parameter: 'response_format.json_schema.schema'.",
        'response_format.json_schema.schema',
      );
    return { format: { type: 'json_schema', schema: format.json_schema.schema } };
  }
  if (format && format.type !== 'text' && format.type !== 'json_object') {
    throw openAIInvalid(
      "Invalid 'response_format.type': expected text, json_object or json_schema.",
      'response_format.type',
    );
  }
  return undefined;
}

/** `reasoning_effort` as a thinking budget, with max_tokens raised to hold it (or refused when it cannot). */
function thinkingFor(effort: string, max: number | undefined, defaultMaxTokens: number): Json {
  const budget = Object.hasOwn(REASONING_BUDGETS, effort) ? REASONING_BUDGETS[effort] : undefined;
  if (!budget)
    throw openAIInvalid("Invalid 'reasoning_effort': expected none, minimal, low, medium or high.", 'reasoning_effort');
  const maxTokens = max ?? budget + defaultMaxTokens;
  if (maxTokens <= 1024)
    throw openAIInvalid(
      'reasoning_effort needs room to think: set max_completion_tokens above 1024.',
      'max_completion_tokens',
    );
  return { max_tokens: maxTokens, thinking: { type: 'enabled', budget_tokens: Math.min(budget, maxTokens - 1) } };
}
