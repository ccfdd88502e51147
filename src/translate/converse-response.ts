import type { Usage } from '../catalog/estimate-cost.js';
import { stripNull } from './to-sse.js';

/**
 * Anthropic answers as Converse answers: the message, the stream's events, usage and stop reasons
 * mapped as Bedrock maps them.
 */

type Json = Record<string, unknown>;

/** Anthropic stop reasons as Converse names them (the rest are the same word). */
const STOP_REASONS: Record<string, string> = { refusal: 'content_filtered', pause_turn: 'end_turn' };

export function converseStopReason(reason: unknown): string {
  const r = typeof reason === 'string' ? reason : 'end_turn';
  return STOP_REASONS[r] ?? r;
}

/** Converse's usage: `totalTokens` counts cache reads and writes too, as Bedrock reports it. */
export function converseUsage(usage: Usage): Json {
  const read = usage.cache_read_input_tokens ?? 0;
  const write = usage.cache_creation_input_tokens ?? 0;
  const out: Json = {
    inputTokens: usage.input_tokens,
    outputTokens: usage.output_tokens,
    totalTokens: usage.input_tokens + usage.output_tokens + read + write,
  };
  if (read) out['cacheReadInputTokens'] = read;
  if (write) out['cacheWriteInputTokens'] = write;
  return out;
}

/** A content block of the answer as Converse's, or undefined for the ones Converse has no block for (server tools). */
function answerBlock(b: Json): Json | undefined {
  switch (b['type']) {
    case 'text':
      return { text: b['text'] };
    case 'tool_use':
      return { toolUse: { toolUseId: b['id'], name: b['name'], input: b['input'] } };
    case 'thinking':
      return { reasoningContent: { reasoningText: { text: b['thinking'], signature: b['signature'] } } };
    case 'redacted_thinking':
      return { reasoningContent: { redactedContent: Buffer.from(String(b['data']), 'utf8').toString('base64') } };
    default:
      return undefined;
  }
}

/**
 * What `additionalModelResponseFieldPaths` (JSON pointers into the model's answer) pick out, nested as in the answer.
 */
export function pickResponseFields(answer: Json, paths: readonly string[]): Json | undefined {
  if (!paths.length) return undefined;
  const out: Json = {};
  for (const path of paths) {
    const parts = path
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    let value: unknown = answer;
    for (const p of parts) value = value && typeof value === 'object' ? (value as Json)[p] : undefined;
    if (value === undefined) continue;
    let at = out;
    parts.forEach((p, i) => {
      if (i === parts.length - 1) at[p] = value;
      else at = (at[p] ??= {}) as Json;
    });
  }
  return out;
}

/**
 * An Anthropic message as a Converse response body.
 *
 * @example
 * ```ts
 * anthropicToConverseResponse({ content: [{ type: 'text', text: 'Hi' }], stop_reason: 'end_turn', usage: {
 * input_tokens: 3, output_tokens: 1 } }, 120);
 * // { output: { message: { role: 'assistant', content: [{ text: 'Hi' }] } }, stopReason: 'end_turn', usage: {...},
 * metrics: { latencyMs: 120 } }
 * ```
 */
export function anthropicToConverseResponse(
  message: Json,
  latencyMs: number,
  fieldPaths: readonly string[] = [],
): Json {
  const content: Json[] = [];
  for (const b of (message['content'] as Json[] | undefined) ?? []) {
    const c = answerBlock(b);
    if (c) content.push(c);
  }
  const out: Json = {
    output: { message: { role: 'assistant', content } },
    stopReason: converseStopReason(message['stop_reason']),
    usage: converseUsage(message['usage'] as Usage),
    metrics: { latencyMs },
  };
  const fields = pickResponseFields(message, fieldPaths);
  if (fields) out['additionalModelResponseFields'] = fields;
  return out;
}

/** What a ConverseStream encoding carries from one Anthropic event to the next. */
export interface ConverseStreamState {
  usage: Usage;
  stopReason?: string;
  latencyMs: number;
  /** `additionalModelResponseFieldPaths`, and the answer's fields as they arrive (for the paths). */
  fieldPaths?: readonly string[];
  answer?: Json;
}

/** A tool's start as `contentBlockStart`; redacted thinking as its one delta; other blocks start silently. */
function blockStartToConverse(cb: Json, index: number): Array<[string, Json]> {
  if (cb['type'] === 'tool_use')
    return [
      [
        'contentBlockStart',
        { contentBlockIndex: index, start: { toolUse: { toolUseId: cb['id'], name: cb['name'] } } },
      ],
    ];
  if (cb['type'] === 'redacted_thinking') {
    const redactedContent = Buffer.from(String(cb['data']), 'utf8').toString('base64');
    return [['contentBlockDelta', { contentBlockIndex: index, delta: { reasoningContent: { redactedContent } } }]];
  }
  return [];
}

/** A content delta as Converse's (text, tool input, reasoning text or signature), or undefined for others. */
function deltaToConverse(d: Json): Json | undefined {
  switch (d['type']) {
    case 'text_delta':
      return { text: d['text'] };
    case 'input_json_delta':
      return { toolUse: { input: d['partial_json'] } };
    case 'thinking_delta':
      return { reasoningContent: { text: d['thinking'] } };
    case 'signature_delta':
      return { reasoningContent: { signature: d['signature'] } };
    default:
      return undefined;
  }
}

/**
 * One Anthropic streaming event as the ConverseStream events (name and payload) it becomes:
 * `message_start` → `messageStart`; a tool's `content_block_start` → `contentBlockStart`; deltas →
 * `contentBlockDelta` (text, tool input, reasoning text and signature, redacted reasoning);
 * `message_delta` → `messageStop`; `message_stop` → `metadata` with usage and latency.
 */
export function anthropicEventToConverse(event: Json, state: ConverseStreamState): Array<[string, Json]> {
  const index = event['index'] as number;
  switch (event['type']) {
    case 'message_start': {
      const message = (event['message'] ?? {}) as Json;
      const usage = message['usage'] as Partial<Usage> | undefined;
      if (usage) Object.assign(state.usage, stripNull(usage));
      if (state.fieldPaths?.length) state.answer = Object.assign({}, message);
      return [['messageStart', { role: 'assistant' }]];
    }
    case 'content_block_start':
      return blockStartToConverse(event['content_block'] as Json, index);
    case 'content_block_delta': {
      const delta = deltaToConverse(event['delta'] as Json);
      return delta ? [['contentBlockDelta', { contentBlockIndex: index, delta }]] : [];
    }
    case 'content_block_stop':
      return [['contentBlockStop', { contentBlockIndex: index }]];
    case 'message_delta': {
      const usage = event['usage'] as Partial<Usage> | undefined;
      if (usage) Object.assign(state.usage, stripNull(usage));
      const delta = (event['delta'] ?? {}) as Json;
      if (typeof delta['stop_reason'] === 'string') state.stopReason = delta['stop_reason'];
      const stop: Json = { stopReason: converseStopReason(state.stopReason) };
      if (state.answer) {
        Object.assign(state.answer, delta);
        const fields = pickResponseFields(state.answer, state.fieldPaths!);
        if (fields) stop['additionalModelResponseFields'] = fields;
      }
      return [['messageStop', stop]];
    }
    case 'message_stop':
      return [['metadata', { usage: converseUsage(state.usage), metrics: { latencyMs: state.latencyMs } }]];
    default:
      return [];
  }
}
