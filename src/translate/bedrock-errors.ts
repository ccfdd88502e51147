import type { AnthropicErrorType } from '../errors.js';
import { own } from '../own.js';

/** One Bedrock exception: the status Bedrock answers with, and what an Anthropic client expects for it. */
export interface BedrockErrorKind {
  /** The HTTP status Bedrock sends (and the emulator and the Bedrock front send). */
  status: number;
  /** The Anthropic error type and status the same failure has on the Anthropic API. */
  type: AnthropicErrorType;
  anthropicStatus: number;
  /** Bedrock's own words for it, where the failure is not about the request (the emulator's faults say these). */
  message?: string;
}

/**
 * The one table of Bedrock's exceptions (bedrock-runtime's service model and what Bedrock sends).
 * Every other mapping (names in `x-amzn-ErrorType`, `:exception-type` frames, the Anthropic type
 * an error becomes, the exception an Anthropic type becomes) is read from here.
 */
export const BEDROCK_ERRORS = {
  ValidationException: { status: 400, type: 'invalid_request_error', anthropicStatus: 400 },
  ServiceQuotaExceededException: { status: 400, type: 'rate_limit_error', anthropicStatus: 429 },
  AccessDeniedException: { status: 403, type: 'permission_error', anthropicStatus: 403 },
  UnrecognizedClientException: { status: 403, type: 'permission_error', anthropicStatus: 403 },
  InvalidSignatureException: { status: 403, type: 'permission_error', anthropicStatus: 403 },
  IncompleteSignatureException: { status: 403, type: 'permission_error', anthropicStatus: 403 },
  ExpiredTokenException: { status: 403, type: 'permission_error', anthropicStatus: 403 },
  MissingAuthenticationTokenException: { status: 403, type: 'permission_error', anthropicStatus: 403 },
  ResourceNotFoundException: { status: 404, type: 'not_found_error', anthropicStatus: 404 },
  UnknownOperationException: { status: 404, type: 'not_found_error', anthropicStatus: 404 },
  ModelTimeoutException: { status: 408, type: 'timeout_error', anthropicStatus: 504 },
  ModelErrorException: { status: 424, type: 'api_error', anthropicStatus: 500 },
  ThrottlingException: {
    status: 429,
    type: 'rate_limit_error',
    anthropicStatus: 429,
    message: 'Too many requests, please wait before trying again.',
  },
  ModelNotReadyException: { status: 429, type: 'overloaded_error', anthropicStatus: 529 },
  InternalServerException: {
    status: 500,
    type: 'api_error',
    anthropicStatus: 500,
    message: 'The system encountered an unexpected error during processing. Try your request again.',
  },
  ServiceUnavailableException: {
    status: 503,
    type: 'overloaded_error',
    anthropicStatus: 529,
    message: 'Bedrock is unable to process your request.',
  },
  ModelStreamErrorException: { status: 424, type: 'api_error', anthropicStatus: 500 },
} as const satisfies Record<string, BedrockErrorKind>;

export type BedrockErrorName = keyof typeof BEDROCK_ERRORS;

/** The exception each Anthropic error type becomes when a Bedrock-shaped answer is due. */
export const EXCEPTION_FOR_TYPE: Record<AnthropicErrorType, BedrockErrorName> = {
  invalid_request_error: 'ValidationException',
  request_too_large: 'ValidationException',
  authentication_error: 'UnrecognizedClientException',
  permission_error: 'AccessDeniedException',
  not_found_error: 'ResourceNotFoundException',
  rate_limit_error: 'ThrottlingException',
  timeout_error: 'ModelTimeoutException',
  api_error: 'InternalServerException',
  overloaded_error: 'ServiceUnavailableException',
  not_supported: 'ValidationException',
};

/**
 * A known exception by its name, in either spelling: `ThrottlingException` (HTTP) or `throttlingException` (stream
 * frames).
 */
export function bedrockErrorKind(
  name: string | undefined | null,
): (BedrockErrorKind & { name: BedrockErrorName }) | undefined {
  if (!name) return undefined;
  const key = name.charAt(0).toUpperCase() + name.slice(1);
  const kind = own<BedrockErrorKind>(BEDROCK_ERRORS, key);
  return kind ? Object.assign({ name: key as BedrockErrorName }, kind) : undefined;
}

/** The name as a stream's `:exception-type` spells it (`throttlingException`). */
export function streamExceptionName(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

const CORAL = 'http://internal.amazon.com/coral/com.amazon.bedrock/';
const CORAL_SERVICE = 'http://internal.amazon.com/coral/com.amazon.coral.service/';

/**
 * The `x-amzn-ErrorType` header value for an exception name (an unknown operation is the service framework's, not
 * Bedrock's).
 */
export function amznErrorType(name: string): string {
  return `${name}:${name === 'UnknownOperationException' ? CORAL_SERVICE : CORAL}`;
}
