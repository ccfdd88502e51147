import { invalidRequest } from '../errors.js';

/**
 * Bedrock Converse ↔ Anthropic Messages, for the emulator's `/converse` and `/converse-stream`
 * routes (other gateways, Portkey among them, call Converse).
 */

type Json = Record<string, unknown>;

function asArray(value: unknown, what: string): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalidRequest(`Malformed input request: ${what} must be an array.`, undefined);
  return value;
}

function block(b: unknown): Json | undefined {
  if (!b || typeof b !== 'object') throw invalidRequest('Malformed input request: a content block must be an object.');
  const c = b as Json;
  if (typeof c['text'] === 'string') return { type: 'text', text: c['text'] };
  if (c['image']) {
    const img = c['image'] as { format?: string; source?: { bytes?: string } };
    return { type: 'image', source: { type: 'base64', media_type: `image/${img.format ?? 'png'}`, data: img.source?.bytes ?? '' } };
  }
  if (c['toolUse']) {
    const t = c['toolUse'] as { toolUseId?: string; name?: string; input?: unknown };
    return { type: 'tool_use', id: t.toolUseId, name: t.name, input: t.input ?? {} };
  }
  if (c['toolResult']) {
    const t = c['toolResult'] as { toolUseId?: string; content?: Json[]; status?: string };
    const content = (t.content ?? []).map((x) => (typeof x['text'] === 'string' ? { type: 'text', text: x['text'] } : { type: 'text', text: JSON.stringify(x['json'] ?? x) }));
    return { type: 'tool_result', tool_use_id: t.toolUseId, content, ...(t.status === 'error' ? { is_error: true } : {}) };
  }
  if (c['reasoningContent']) {
    const r = (c['reasoningContent'] as { reasoningText?: { text?: string; signature?: string } }).reasoningText;
    return { type: 'thinking', thinking: r?.text ?? '', signature: r?.signature ?? '' };
  }
  if (c['cachePoint']) return undefined;
  if (c['document']) return { type: 'text', text: '[document]' };
  throw invalidRequest(`Malformed input request: unsupported content block ${Object.keys(c).join(',')}.`);
}

/** A Converse request body → the Anthropic Messages body it means. */
export function converseToAnthropic(body: Json, defaultMaxTokens: number): Json {
  const messages = asArray(body['messages'], 'messages').map((m) => {
    if (!m || typeof m !== 'object') throw invalidRequest('Malformed input request: each message must be an object with role and content.');
    const msg = m as { role?: unknown; content?: unknown };
    return { role: msg.role, content: asArray(msg.content, 'content').map(block).filter(Boolean) };
  });
  const out: Json = { messages };
  const system = asArray(body['system'], 'system').map((s) => (s as Json | null)?.['text']).filter((t): t is string => typeof t === 'string');
  if (system.length) out['system'] = system.join('\n');
  const inf = (body['inferenceConfig'] ?? {}) as { maxTokens?: number; temperature?: number; topP?: number; stopSequences?: string[] };
  out['max_tokens'] = inf.maxTokens ?? defaultMaxTokens;
  if (inf.temperature !== undefined) out['temperature'] = inf.temperature;
  if (inf.topP !== undefined) out['top_p'] = inf.topP;
  if (inf.stopSequences) out['stop_sequences'] = inf.stopSequences;
  const toolConfig = body['toolConfig'] as { tools?: Json[]; toolChoice?: Json } | undefined;
  if (toolConfig?.tools) {
    out['tools'] = toolConfig.tools
      .filter((t) => t['toolSpec'])
      .map((t) => {
        const spec = t['toolSpec'] as { name: string; description?: string; inputSchema?: { json?: unknown } };
        return { name: spec.name, ...(spec.description ? { description: spec.description } : {}), input_schema: spec.inputSchema?.json ?? { type: 'object' } };
      });
    const choice = toolConfig.toolChoice;
    if (choice?.['any']) out['tool_choice'] = { type: 'any' };
    else if (choice?.['tool']) out['tool_choice'] = { type: 'tool', name: (choice['tool'] as { name: string }).name };
    else if (choice?.['auto']) out['tool_choice'] = { type: 'auto' };
  }
  const extra = body['additionalModelRequestFields'] as Json | undefined;
  if (extra && typeof extra === 'object') Object.assign(out, extra);
  return out;
}

/** An Anthropic message → a Converse response body. */
export function anthropicToConverseResponse(message: Json, latencyMs: number): Json {
  const content = ((message['content'] as Json[]) ?? []).map((b) => {
    if (b['type'] === 'text') return { text: b['text'] };
    if (b['type'] === 'tool_use') return { toolUse: { toolUseId: b['id'], name: b['name'], input: b['input'] } };
    if (b['type'] === 'thinking') return { reasoningContent: { reasoningText: { text: b['thinking'], signature: b['signature'] } } };
    return { text: '' };
  });
  const usage = message['usage'] as { input_tokens: number; output_tokens: number; cache_read_input_tokens?: number; cache_creation_input_tokens?: number };
  return {
    output: { message: { role: 'assistant', content } },
    stopReason: message['stop_reason'],
    usage: converseUsage(usage),
    metrics: { latencyMs },
  };
}

function converseUsage(usage: { input_tokens: number; output_tokens: number; cache_read_input_tokens?: number; cache_creation_input_tokens?: number }): Json {
  return {
    inputTokens: usage.input_tokens,
    outputTokens: usage.output_tokens,
    totalTokens: usage.input_tokens + usage.output_tokens,
    ...(usage.cache_read_input_tokens ? { cacheReadInputTokens: usage.cache_read_input_tokens } : {}),
    ...(usage.cache_creation_input_tokens ? { cacheWriteInputTokens: usage.cache_creation_input_tokens } : {}),
  };
}

/**
 * Maps one Anthropic streaming event to the ConverseStream events (name and payload) it becomes.
 * `state` carries usage and the stop reason between events.
 */
export function anthropicEventToConverse(event: Json, state: { usage: { input_tokens: number; output_tokens: number }; stopReason?: string; latencyMs: number }): Array<[string, Json]> {
  const index = event['index'] as number;
  switch (event['type']) {
    case 'message_start': {
      const usage = (event['message'] as { usage?: { input_tokens: number } }).usage;
      if (usage) state.usage.input_tokens = usage.input_tokens;
      return [['messageStart', { role: 'assistant' }]];
    }
    case 'content_block_start': {
      const cb = event['content_block'] as Json;
      if (cb['type'] === 'tool_use') return [['contentBlockStart', { contentBlockIndex: index, start: { toolUse: { toolUseId: cb['id'], name: cb['name'] } } }]];
      return [];
    }
    case 'content_block_delta': {
      const d = event['delta'] as Json;
      if (d['type'] === 'text_delta') return [['contentBlockDelta', { contentBlockIndex: index, delta: { text: d['text'] } }]];
      if (d['type'] === 'input_json_delta') return [['contentBlockDelta', { contentBlockIndex: index, delta: { toolUse: { input: d['partial_json'] } } }]];
      if (d['type'] === 'thinking_delta') return [['contentBlockDelta', { contentBlockIndex: index, delta: { reasoningContent: { text: d['thinking'] } } }]];
      if (d['type'] === 'signature_delta') return [['contentBlockDelta', { contentBlockIndex: index, delta: { reasoningContent: { signature: d['signature'] } } }]];
      return [];
    }
    case 'content_block_stop':
      return [['contentBlockStop', { contentBlockIndex: index }]];
    case 'message_delta': {
      const usage = event['usage'] as { output_tokens?: number } | undefined;
      if (usage?.output_tokens !== undefined) state.usage.output_tokens = usage.output_tokens;
      const stop = (event['delta'] as { stop_reason?: string }).stop_reason;
      if (stop) state.stopReason = stop;
      return [['messageStop', { stopReason: state.stopReason ?? 'end_turn' }]];
    }
    case 'message_stop':
      return [['metadata', { usage: converseUsage(state.usage), metrics: { latencyMs: state.latencyMs } }]];
    default:
      return [];
  }
}
