import { createHash } from 'node:crypto';
import { estimateInputTokens } from '../check/estimate-tokens.js';

/**
 * The emulator's deterministic "model": it echoes the last user message (or a fixed sentence),
 * answers forced tool choices with a tool_use whose input satisfies the schema's required
 * properties, answers structured-output requests with JSON that satisfies their schema, starts with a
 * signed thinking block when thinking is on, and truncates at max_tokens.
 */

export const DEFAULT_REPLY = 'Hello from the bedrock-claude emulator.';
export const THINKING_TEXT = 'The user wrote a message; the emulator echoes it back.';

type Json = Record<string, unknown>;

export interface ContentBlock {
  type: 'text' | 'tool_use' | 'thinking';
  text?: string;
  id?: string;
  name?: string;
  input?: unknown;
  thinking?: string;
  signature?: string;
}

export interface FakeMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: ContentBlock[];
  stop_reason: 'end_turn' | 'max_tokens' | 'tool_use' | 'stop_sequence';
  stop_sequence: string | null;
  usage: {
    input_tokens: number;
    output_tokens: number;
    cache_creation_input_tokens: number;
    cache_read_input_tokens: number;
  };
}

/** A scripted reply (from `--script`), replacing the echo. */
export interface ScriptedReply {
  text?: string | undefined;
  toolUse?: { name: string; input: unknown } | undefined;
}

const tokens = (s: string): number => Math.ceil(s.length / 4);

function hashId(prefix: string, seed: string): string {
  return prefix + createHash('sha256').update(seed).digest('base64url').slice(0, 24);
}

/**
 * The text of the last user message: its string content, or its last text (or tool result) block
 * that is not injected context (`<system-reminder>`).
 */
export function lastUserText(body: Json): string {
  const messages = Array.isArray(body['messages']) ? (body['messages'] as Json[]) : [];
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (!m || m['role'] !== 'user') continue;
    const content = m['content'];
    if (typeof content === 'string') return content;
    if (!Array.isArray(content)) return '';
    const parts: string[] = [];
    for (const b of content as Json[]) {
      if (b?.['type'] === 'text' && typeof b['text'] === 'string') parts.push(b['text']);
      else if (b?.['type'] === 'tool_result') {
        const c = b['content'];
        if (typeof c === 'string') parts.push(c);
        else if (Array.isArray(c))
          for (const x of c as Json[]) if (typeof x?.['text'] === 'string') parts.push(x['text'] as string);
      }
    }
    // Injected context (`<system-reminder>` blocks) is not what the user said.
    const said = parts.filter((p) => !p.trimStart().startsWith('<system-reminder>'));
    return said[said.length - 1] ?? parts[parts.length - 1] ?? '';
  }
  return '';
}

/** A value that satisfies a JSON schema's type and required properties. */
export function exampleFor(schema: unknown, depth = 0): unknown {
  const s = (schema && typeof schema === 'object' ? schema : {}) as Json;
  if (Array.isArray(s['enum']) && s['enum'].length) return s['enum'][0];
  if (s['const'] !== undefined) return s['const'];
  if (s['default'] !== undefined) return s['default'];
  const anyOf = (s['anyOf'] ?? s['oneOf']) as unknown[] | undefined;
  if (Array.isArray(anyOf) && anyOf.length) return exampleFor(anyOf[0], depth + 1);
  const type = Array.isArray(s['type']) ? (s['type'] as string[]).find((t) => t !== 'null') : s['type'];
  return exampleOfType(type, s, depth);
}

function exampleOfType(type: unknown, s: Json, depth: number): unknown {
  const min = typeof s['minimum'] === 'number' ? s['minimum'] : undefined;
  switch (type) {
    case 'string':
      return s['format'] === 'date-time' ? '2026-01-01T00:00:00Z' : 'example';
    case 'integer':
      return min !== undefined ? Math.ceil(min) : 1;
    case 'number':
      return min ?? 1;
    case 'boolean':
      return true;
    case 'null':
      return null;
    case 'array': {
      const count = typeof s['minItems'] === 'number' ? s['minItems'] : 0;
      return depth > 8 ? [] : Array.from({ length: count }, () => exampleFor(s['items'], depth + 1));
    }
    default: {
      const out: Json = {};
      if (depth > 8) return out;
      const props = (s['properties'] ?? {}) as Json;
      const required = Array.isArray(s['required']) ? (s['required'] as string[]) : [];
      for (const key of required) out[key] = exampleFor(props[key], depth + 1);
      return out;
    }
  }
}

function forcedTool(body: Json): Json | undefined {
  const choice = body['tool_choice'] as Json | undefined;
  const tools = Array.isArray(body['tools']) ? (body['tools'] as Json[]) : [];
  if (!choice || !tools.length) return undefined;
  if (choice['type'] === 'tool') return tools.find((t) => t['name'] === choice['name']);
  if (choice['type'] === 'any')
    return tools.find((t) => t['input_schema'] || !t['type'] || t['type'] === 'custom') ?? tools[0];
  return undefined;
}

/**
 * The JSON schema a structured-output request asks the answer to satisfy (`output_config.format`, or the older
 * `output_format`).
 */
function outputSchema(body: Json): unknown {
  const format = ((body['output_config'] as Json | undefined)?.['format'] ?? body['output_format']) as Json | undefined;
  return format && format['type'] === 'json_schema' ? (format['schema'] ?? {}) : undefined;
}

function thinkingOn(body: Json): boolean {
  const t = body['thinking'] as Json | undefined;
  return !!t && (t['type'] === 'enabled' || t['type'] === 'adaptive');
}

/**
 * Builds the deterministic reply to a Bedrock (Anthropic-shaped) body.
 *
 * @example
 * ```ts
 * respond({ max_tokens: 50, messages: [{ role: 'user', content: 'ping' }] },
 * 'claude-sonnet-4-5-20250929').content[0].text; // 'ping'
 * ```
 */
export function respond(body: Json, modelName: string, scripted?: ScriptedReply): FakeMessage {
  const maxTokens = typeof body['max_tokens'] === 'number' ? body['max_tokens'] : 4096;
  let budget = maxTokens;
  const content: ContentBlock[] = [];
  let stop: FakeMessage['stop_reason'] = 'end_turn';
  let stopSequence: string | null = null;
  const seed = JSON.stringify(body['messages'] ?? null) + modelName;

  if (thinkingOn(body)) {
    const thinking = THINKING_TEXT.slice(0, budget * 4);
    budget -= tokens(thinking);
    content.push({
      type: 'thinking',
      thinking,
      signature: createHash('sha256').update(`emulator:${thinking}`).digest('base64'),
    });
  }

  const tool = scripted?.toolUse ? { name: scripted.toolUse.name, input_schema: undefined } : forcedTool(body);
  if (tool && budget > 0) {
    const input = scripted?.toolUse ? scripted.toolUse.input : exampleFor(tool['input_schema'] ?? { type: 'object' });
    content.push({
      type: 'tool_use',
      id: hashId('toolu_bdrk_', seed + String(tool['name'])),
      name: String(tool['name']),
      input,
    });
    budget -= tokens(JSON.stringify(input));
    stop = 'tool_use';
  } else if (budget > 0) {
    const answer = textAnswer(body, budget, scripted);
    ({ stop, stopSequence } = answer);
    budget -= tokens(answer.text);
    content.push({ type: 'text', text: answer.text });
  } else {
    stop = 'max_tokens';
  }

  return {
    id: hashId('msg_bdrk_', seed),
    type: 'message',
    role: 'assistant',
    model: modelName,
    content,
    stop_reason: stop,
    stop_sequence: stopSequence,
    usage: {
      input_tokens: estimateInputTokens(body),
      output_tokens: Math.max(1, maxTokens - budget),
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    },
  };
}

/** The text answer: scripted, JSON for a schema, or the echo; cut at a stop sequence or at the token budget. */
function textAnswer(
  body: Json,
  budget: number,
  scripted: ScriptedReply | undefined,
): { text: string; stop: FakeMessage['stop_reason']; stopSequence: string | null } {
  const schema = outputSchema(body);
  // Structured output: JSON that satisfies the schema, as a forced tool's input does.
  let text =
    scripted?.text ??
    (schema !== undefined ? JSON.stringify(exampleFor(schema)) : lastUserText(body).trim() || DEFAULT_REPLY);
  let stop: FakeMessage['stop_reason'] = 'end_turn';
  let stopSequence: string | null = null;
  const stops = Array.isArray(body['stop_sequences']) ? (body['stop_sequences'] as string[]) : [];
  for (const s of stops) {
    const at = typeof s === 'string' && s ? text.indexOf(s) : -1;
    if (at >= 0) {
      text = text.slice(0, at);
      stop = 'stop_sequence';
      stopSequence = s;
    }
  }
  if (tokens(text) > budget) return { text: text.slice(0, budget * 4), stop: 'max_tokens', stopSequence: null };
  return { text, stop, stopSequence };
}

function chunks(s: string, parts: number): string[] {
  if (!s) return [''];
  const size = Math.max(1, Math.ceil(s.length / parts));
  const out: string[] = [];
  for (let i = 0; i < s.length; i += size) out.push(s.slice(i, i + size));
  return out;
}

/**
 * The Anthropic streaming events for a message, text split into several deltas: four, or pieces of
 * at most `deltaChars` characters (long streams for benchmarks).
 */
export function streamEvents(message: FakeMessage, deltaChars?: number): Json[] {
  const events: Json[] = [];
  events.push({
    type: 'message_start',
    message: {
      ...message,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...message.usage, output_tokens: 1 },
    },
  });
  message.content.forEach((block, index) => {
    if (block.type === 'text') {
      events.push({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
      const text = block.text ?? '';
      for (const piece of chunks(text, deltaChars ? Math.max(1, Math.ceil(text.length / deltaChars)) : 4))
        events.push({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: piece } });
    } else if (block.type === 'thinking') {
      events.push({
        type: 'content_block_start',
        index,
        content_block: { type: 'thinking', thinking: '', signature: '' },
      });
      for (const piece of chunks(block.thinking ?? '', 3))
        events.push({ type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: piece } });
      events.push({
        type: 'content_block_delta',
        index,
        delta: { type: 'signature_delta', signature: block.signature },
      });
    } else {
      events.push({
        type: 'content_block_start',
        index,
        content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} },
      });
      for (const piece of chunks(JSON.stringify(block.input), 3))
        events.push({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: piece } });
    }
    events.push({ type: 'content_block_stop', index });
  });
  events.push({
    type: 'message_delta',
    delta: { stop_reason: message.stop_reason, stop_sequence: message.stop_sequence },
    usage: { output_tokens: message.usage.output_tokens },
  });
  events.push({ type: 'message_stop' });
  return events;
}
