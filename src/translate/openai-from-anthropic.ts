import { openAIInvalid } from './openai-params.js';

// Anthropic Messages → OpenAI chat completions: the other way from openai.ts, for the round-trip
// tests and `convert`.

type Json = Record<string, unknown>;

function partOf(b: Json): Json {
  if (b['type'] === 'text') return { type: 'text', text: b['text'] };
  const source = b['source'] as Json;
  if (b['type'] === 'image')
    return {
      type: 'image_url',
      image_url: {
        url:
          source['type'] === 'url'
            ? source['url']
            : `data:${String(source['media_type'])};base64,${String(source['data'])}`,
      },
    };
  if (b['type'] === 'document') {
    const data =
      source['type'] === 'base64'
        ? `data:application/pdf;base64,${String(source['data'])}`
        : `data:text/plain;base64,${Buffer.from(String(source['data']), 'utf8').toString('base64')}`;
    const file: Json = { file_data: data };
    if (b['title'] !== undefined) file['filename'] = b['title'];
    return { type: 'file', file };
  }
  throw openAIInvalid(`A ${String(b['type'])} block has no chat completions equivalent.`);
}

/** An assistant turn: its text, and its tool calls as `tool_calls`. */
function assistantMessage(content: Json[]): Json {
  const text = content
    .filter((b) => b['type'] === 'text')
    .map((b) => b['text'])
    .join('');
  const calls = content
    .filter((b) => b['type'] === 'tool_use')
    .map((b) => ({
      id: b['id'],
      type: 'function',
      function: { name: b['name'], arguments: JSON.stringify(b['input']) },
    }));
  const out: Json = { role: 'assistant', content: text || null };
  if (calls.length) out['tool_calls'] = calls;
  return out;
}

/** A user turn's blocks: each tool result a `tool` message, the rest one user message. */
function userMessages(content: Json[]): Json[] {
  const messages: Json[] = [];
  const rest: Json[] = [];
  for (const b of content) {
    if (b['type'] === 'tool_result')
      messages.push({
        role: 'tool',
        tool_call_id: b['tool_use_id'],
        content:
          typeof b['content'] === 'string' ? b['content'] : ((b['content'] as Json[] | undefined) ?? []).map(partOf),
      });
    else rest.push(partOf(b));
  }
  if (rest.length) messages.push({ role: 'user', content: rest });
  return messages;
}

function chatMessages(body: Json): Json[] {
  const messages: Json[] = [];
  const system = body['system'];
  if (typeof system === 'string') messages.push({ role: 'system', content: system });
  else if (Array.isArray(system))
    for (const b of system as Json[]) messages.push({ role: 'system', content: b['text'] });
  for (const m of (body['messages'] as Json[]) ?? []) {
    const content =
      typeof m['content'] === 'string' ? [{ type: 'text', text: m['content'] }] : (m['content'] as Json[]);
    if (m['role'] === 'assistant') messages.push(assistantMessage(content));
    else if (typeof m['content'] === 'string') messages.push({ role: 'user', content: m['content'] });
    else messages.push(...userMessages(content));
  }
  return messages;
}

function toolsAndChoice(body: Json, out: Json): void {
  if (Array.isArray(body['tools']))
    out['tools'] = (body['tools'] as Json[]).map((t) => ({
      type: 'function',
      function: Object.assign(
        { name: t['name'] },
        t['description'] !== undefined ? { description: t['description'] } : {},
        { parameters: t['input_schema'] },
      ),
    }));
  const choice = body['tool_choice'] as Json | undefined;
  if (choice) {
    out['tool_choice'] =
      choice['type'] === 'any'
        ? 'required'
        : choice['type'] === 'tool'
          ? { type: 'function', function: { name: choice['name'] } }
          : choice['type'];
    if (choice['disable_parallel_tool_use'] === true) out['parallel_tool_calls'] = false;
  }
}

/** An Anthropic Messages body as the chat completions request that means the same. */
export function anthropicToOpenAI(body: Json): Json {
  const out: Json = { model: body['model'], messages: chatMessages(body) };
  if (body['max_tokens'] !== undefined) out['max_completion_tokens'] = body['max_tokens'];
  for (const [from, to] of [
    ['temperature', 'temperature'],
    ['top_p', 'top_p'],
    ['stop_sequences', 'stop'],
    ['stream', 'stream'],
  ] as const)
    if (body[from] !== undefined) out[to] = body[from];
  toolsAndChoice(body, out);
  const format = (body['output_config'] as { format?: { schema?: unknown } } | undefined)?.format;
  if (format) out['response_format'] = { type: 'json_schema', json_schema: { name: 'output', schema: format.schema } };
  const user = (body['metadata'] as { user_id?: unknown } | undefined)?.user_id;
  if (typeof user === 'string') out['user'] = user;
  return out;
}
