/**
 * The one error model of bedrock-claude. Every error we raise carries an HTTP status, the Anthropic
 * error `type` a client expects for it, a message a person can act on and, when we know it, a fix.
 */

/** Anthropic error types, as they appear in `{"type":"error","error":{"type":...}}`. */
export type AnthropicErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'timeout_error'
  | 'api_error'
  | 'overloaded_error'
  /** What this upstream cannot do at all (count_tokens where CountTokens is not offered): 501. */
  | 'not_supported';

export interface BedrockClaudeErrorOptions {
  status: number;
  type: AnthropicErrorType;
  /** What to do about it, when we know. Appended to the message a client sees. */
  fix?: string | undefined;
  /** The Bedrock exception name this corresponds to (`ValidationException`, ...). */
  bedrockType?: string | undefined;
  /** Seconds a client should wait before retrying, when known. */
  retryAfter?: number | undefined;
  /** The request parameter the error is about (OpenAI's `param`), when there is one. */
  param?: string | undefined;
  cause?: unknown;
}

/**
 * Base class for every error the library throws.
 *
 * @example
 * ```ts
 * try { resolveModel('claude-sonet-4-5') } catch (e) {
 *   if (e instanceof BedrockClaudeError) console.error(e.status, e.type, e.message, e.fix);
 * }
 * ```
 */
export class BedrockClaudeError extends Error {
  readonly status: number;
  readonly type: AnthropicErrorType;
  readonly fix: string | undefined;
  readonly bedrockType: string | undefined;
  readonly retryAfter: number | undefined;
  readonly param: string | undefined;

  constructor(message: string, options: BedrockClaudeErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BedrockClaudeError';
    this.status = options.status;
    this.type = options.type;
    this.fix = options.fix;
    this.bedrockType = options.bedrockType;
    this.retryAfter = options.retryAfter;
    this.param = options.param;
  }

  /** The message with the fix appended, as a client should read it. */
  get fullMessage(): string {
    // Bedrock's own words do not always end a sentence ("…except for the optional final assistant message").
    return this.fix ? `${this.message}${/[.!?:)\]]$/.test(this.message) ? '' : '.'} Fix: ${this.fix}` : this.message;
  }
}

/** A client's mistake: 400 `invalid_request_error` unless told otherwise. */
export function invalidRequest(message: string, fix?: string, status = 400): BedrockClaudeError {
  return new BedrockClaudeError(message, {
    status,
    type: status === 404 ? 'not_found_error' : 'invalid_request_error',
    fix,
    bedrockType: 'ValidationException',
  });
}
