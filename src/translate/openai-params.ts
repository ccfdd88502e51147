import { BedrockClaudeError } from '../errors.js';

// Which chat completions parameters Claude honours, which it cannot (refused with a 400 that says
// why, never ignored) and which only tune OpenAI's own service (accepted, no effect).

type Json = Record<string, unknown>;

/** A 400 in OpenAI's terms: the message, and the parameter it is about. */
export function openAIInvalid(message: string, param?: string, fix?: string): BedrockClaudeError {
  return new BedrockClaudeError(message, { status: 400, type: 'invalid_request_error', fix, param });
}

/** Thinking budgets for `reasoning_effort`. */
export const REASONING_BUDGETS: Record<string, number> = { minimal: 1024, low: 1024, medium: 4096, high: 16384 };

/** Every chat completions parameter this translation knows: the rest are refused by name. */
export const ACCEPTED = new Set([
  'model',
  'messages',
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'stop',
  'stream',
  'stream_options',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'response_format',
  'reasoning_effort',
  'user',
  'safety_identifier',
  'n',
  'logprobs',
  'top_logprobs',
  'audio',
  'modalities',
  'presence_penalty',
  'frequency_penalty',
  'logit_bias',
  'seed',
  'store',
  'metadata',
  'service_tier',
  'prompt_cache_key',
  'prediction',
  'web_search_options',
  'functions',
  'function_call',
  'verbosity',
]);
/** Accepted, and without effect on Claude: they tune OpenAI's own service. */
export const OPENAI_NO_EFFECT = ['seed', 'store', 'metadata', 'service_tier', 'prompt_cache_key', 'verbosity'];

const set = (v: unknown) => v !== undefined && v !== null;

/** Each parameter Claude cannot honour: when a request's value asks for it, and what the 400 says. */
const UNHONOURED: Array<{ param: (body: Json) => string; asks: (body: Json) => boolean; message: string }> = [
  {
    param: () => 'n',
    asks: (b) => set(b['n']) && b['n'] !== 1,
    message: 'n > 1 is not supported: Claude returns one choice per request. Send several requests instead.',
  },
  {
    param: () => 'logprobs',
    asks: (b) => b['logprobs'] === true || (set(b['top_logprobs']) && b['top_logprobs'] !== 0),
    message: 'logprobs are not supported: Claude does not return token log probabilities.',
  },
  {
    param: () => 'audio',
    asks: (b) => set(b['audio']) || (Array.isArray(b['modalities']) && b['modalities'].some((m) => m !== 'text')),
    message: 'Audio output is not supported: Claude answers in text.',
  },
  {
    param: () => 'presence_penalty',
    asks: (b) => set(b['presence_penalty']) && b['presence_penalty'] !== 0,
    message: 'presence_penalty is not supported by Claude: leave it out or set it to 0.',
  },
  {
    param: () => 'frequency_penalty',
    asks: (b) => set(b['frequency_penalty']) && b['frequency_penalty'] !== 0,
    message: 'frequency_penalty is not supported by Claude: leave it out or set it to 0.',
  },
  {
    param: () => 'logit_bias',
    asks: (b) => !!b['logit_bias'] && typeof b['logit_bias'] === 'object' && Object.keys(b['logit_bias']).length > 0,
    message: 'logit_bias is not supported by Claude.',
  },
  {
    param: () => 'prediction',
    asks: (b) => set(b['prediction']),
    message: 'Predicted outputs are not supported by Claude.',
  },
  {
    param: () => 'web_search_options',
    asks: (b) => set(b['web_search_options']),
    message: 'Web search is not available on Amazon Bedrock.',
  },
  {
    param: (b) => (b['functions'] !== undefined ? 'functions' : 'function_call'),
    asks: (b) => b['functions'] !== undefined || b['function_call'] !== undefined,
    message: 'functions and function_call are deprecated: send tools and tool_choice.',
  },
];

/** Refuses, in OpenAI's shape, the first parameter the request sets that Claude cannot honour. */
export function refuseUnhonoured(body: Json): void {
  const refused = UNHONOURED.find((u) => u.asks(body));
  if (refused) throw openAIInvalid(refused.message, refused.param(body));
}

/** OpenAI's bounds on `metadata`: at most 16 pairs, keys of at most 64 characters, string values of at most 512. */
function checkMetadata(metadata: unknown): void {
  if (metadata === undefined || metadata === null) return;
  if (typeof metadata !== 'object' || Array.isArray(metadata))
    throw openAIInvalid("Invalid type for 'metadata': expected an object of string values.", 'metadata');
  const pairs = Object.entries(metadata);
  if (pairs.length > 16)
    throw openAIInvalid(`Invalid 'metadata': ${pairs.length} pairs; at most 16 are allowed.`, 'metadata');
  for (const [key, value] of pairs) {
    if (key.length > 64)
      throw openAIInvalid(`Invalid 'metadata': a key of ${key.length} characters; at most 64 are allowed.`, 'metadata');
    const param = `metadata.${key}`;
    if (typeof value !== 'string') throw openAIInvalid(`Invalid type for '${param}': expected a string.`, param);
    if (value.length > 512)
      throw openAIInvalid(`Invalid '${param}': string too long (${value.length}); at most 512 characters.`, param);
  }
}

/**
 * What an OpenAI client tagged its request with (`metadata`, `client_metadata`, `prompt_cache_key`), as JSON for the
 * ledger, at most 4 KB (cut, then said so); undefined when it sent none. Never sent to Bedrock.
 */
export function clientTags(body: Record<string, unknown>): string | undefined {
  checkMetadata(body['metadata']);
  const tags: Record<string, unknown> = {};
  for (const k of ['metadata', 'client_metadata', 'prompt_cache_key'])
    if (body[k] !== undefined && body[k] !== null) tags[k] = body[k];
  if (!Object.keys(tags).length) return undefined;
  const text = JSON.stringify(tags);
  return text.length <= 4096 ? text : JSON.stringify({ truncated: text.slice(0, 4000) });
}
