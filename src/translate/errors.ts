import { BedrockClaudeError, type AnthropicErrorType } from '../errors.js';
import { amznErrorType, bedrockErrorKind, EXCEPTION_FOR_TYPE } from './bedrock-errors.js';

/** The Anthropic error envelope. */
export interface AnthropicErrorBody {
  type: 'error';
  error: { type: AnthropicErrorType; message: string };
  request_id?: string;
}

interface Mapping {
  status: number;
  type: AnthropicErrorType;
}

export { amznErrorType };

/** Reads the exception name out of `x-amzn-ErrorType` (`ThrottlingException:http://...` → `ThrottlingException`). */
export function parseAmznErrorType(header: string | undefined | null): string | undefined {
  if (!header) return undefined;
  return header.split(':')[0]!.trim() || undefined;
}

function messageOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { message?: unknown; Message?: unknown; error?: { message?: unknown } };
    // Bedrock's `{"message"}`, some AWS fronts' `{"Message"}`, or Mantle's Anthropic envelope.
    const m = parsed.message ?? parsed.Message ?? parsed.error?.message;
    return typeof m === 'string' ? m : undefined;
  } catch {
    return body.trim() ? body.trim().slice(0, 1000) : undefined;
  }
}

/** Hints for the errors people hit most, keyed by a piece of Bedrock's message. */
const FIXES: Array<[RegExp, string]> = [
  [
    /on-demand throughput isn.t supported/,
    'Call the model through an inference profile: prefix the ID with global. (any region, no premium) or ' +
      'us./eu./jp./apac./au. (data stays in the geography).',
  ],
  [
    /model identifier is invalid/,
    'Use a full Bedrock ID such as global.anthropic.claude-opus-4-6-v1 and check the model is offered in your region ' +
      '(`bedrock-claude models --region R`).',
  ],
  [
    /invalid beta flag/,
    'Remove the betas Bedrock does not support from anthropic_beta (the gateway drops them under policy "drop").',
  ],
  [
    /extraneous key \[(model|stream)\]/,
    'Bedrock takes the model in the URL path and streaming from the endpoint: remove "model" and "stream" from ' +
      'the body.',
  ],
  [/required key \[anthropic_version\]/, 'Add "anthropic_version": "bedrock-2023-05-31" to the request body.'],
  [
    /don.t have access to the model/,
    'Enable model access in the Bedrock console for this account and region, and check the IAM policy allows ' +
      'bedrock:InvokeModel on the profile and the model.',
  ],
  [
    /security token included in the request is invalid|signature we calculated does not match/i,
    'Check the AWS credentials (access key, secret, session token) and the region used for signing.',
  ],
];

/** The fix for a Bedrock error message, when we know one. */
export function fixForBedrockMessage(message: string): string | undefined {
  return FIXES.find(([re]) => re.test(message))?.[1];
}

/**
 * Turns a Bedrock error response into a `BedrockClaudeError` carrying the Anthropic status and type.
 *
 * @example
 * ```ts
 * const err = fromBedrockError(429, 'ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/',
 * '{"message":"Too many requests"}');
 * err.status; // 429
 * err.type;   // 'rate_limit_error'
 * ```
 */
export function fromBedrockError(
  status: number,
  errorTypeHeader: string | undefined | null,
  body: string,
  retryAfter?: number,
): BedrockClaudeError {
  const name = parseAmznErrorType(errorTypeHeader);
  const kind = bedrockErrorKind(name);
  const mapped = kind ? { status: kind.anthropicStatus, type: kind.type } : byStatus(status);
  const message = maskAccount(messageOf(body) ?? `Bedrock answered ${status}${name ? ` ${name}` : ''}.`);
  return new BedrockClaudeError(message, {
    status: mapped.status,
    type: mapped.type,
    bedrockType: name,
    fix: fixForBedrockMessage(message),
    retryAfter,
  });
}

/**
 * An upstream message without what identifies the operator's account: ARNs and 12-digit account IDs
 * (Anthropic's gateway protocol asks for it; Bedrock's messages name both). The rest is kept word for
 * word, so `prompt is too long: ...` and `Input is too long.`, which clients recover on, pass as they are.
 */
export function maskAccount(message: string): string {
  return message
    .replace(/arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{0,12}:[^\s"',;)]+/g, '<arn>')
    .replace(/\b\d{12}\b/g, '<account>');
}

function byStatus(status: number): Mapping {
  if (status === 429) return { status: 429, type: 'rate_limit_error' };
  if (status === 403 || status === 401) return { status: 403, type: 'permission_error' };
  if (status === 404) return { status: 404, type: 'not_found_error' };
  if (status === 503) return { status: 529, type: 'overloaded_error' };
  if (status === 408 || status === 504) return { status: 504, type: 'timeout_error' };
  if (status >= 500) return { status: 500, type: 'api_error' };
  return { status: 400, type: 'invalid_request_error' };
}

/** The Anthropic error envelope for an error. */
export function toAnthropicErrorBody(error: BedrockClaudeError, requestId?: string): AnthropicErrorBody {
  const body: AnthropicErrorBody = { type: 'error', error: { type: error.type, message: error.fullMessage } };
  if (requestId) body.request_id = requestId;
  return body;
}

/** A Bedrock-shaped error response: status, `x-amzn-ErrorType` and `{"message":...}`. */
export interface BedrockErrorResponse {
  status: number;
  name: string;
  headers: Record<string, string>;
  body: { message: string };
}

/**
 * Turns an error into the response Bedrock would send (for the emulator and the Bedrock front).
 * A `bedrockType` on the error wins over the mapping from its Anthropic type.
 */
export function toBedrockError(error: BedrockClaudeError): BedrockErrorResponse {
  const fallback = EXCEPTION_FOR_TYPE[error.type];
  const named = error.bedrockType && /^[A-Z][A-Za-z]+$/.test(error.bedrockType) ? error.bedrockType : fallback;
  // A request over the size limit is Bedrock's ValidationException, answered as 413.
  const status =
    named === fallback && error.type === 'request_too_large'
      ? 413
      : (bedrockErrorKind(named)?.status ?? bedrockErrorKind(fallback)!.status);
  return {
    status,
    name: named,
    headers: { 'x-amzn-errortype': amznErrorType(named) },
    body: { message: error.fullMessage },
  };
}
