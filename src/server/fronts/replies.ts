import type { BedrockClaudeError } from '../../errors.js';
import type { Reply } from '../pipeline.js';

/** A JSON answer. */
export function jsonReply(status: number, value: unknown, headers: Record<string, string>): Reply {
  return {
    status,
    headers: Object.assign({ 'content-type': 'application/json' }, headers),
    body: JSON.stringify(value),
  };
}

const NO_HEADERS: Record<string, string> = {};

/** `retry-after` for an error a client should retry later: its own, or a second for throttling and overload. */
export function retryAfterHeaders(err: BedrockClaudeError): Record<string, string> {
  const retry = err.retryAfter ?? (err.type === 'rate_limit_error' || err.type === 'overloaded_error' ? 1 : undefined);
  return retry === undefined ? NO_HEADERS : { 'retry-after': String(retry) };
}
