import { BedrockClaudeError } from '../errors.js';
import type { Target } from './types.js';

/** A 200 answer's JSON object; anything else is Bedrock misbehaving (502, retried). */
export function parseUpstreamJson(raw: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    value = undefined;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new BedrockClaudeError('Bedrock answered 200 with a body that is not a JSON object.', {
      status: 502,
      type: 'api_error',
    });
  return value as Record<string, unknown>;
}

/** Errors from sockets and undici timeouts, as a retryable `BedrockClaudeError`. */
export function networkError(err: unknown, target: Target): BedrockClaudeError {
  if (err instanceof BedrockClaudeError) return err;
  const e = err as { code?: string; name?: string; message?: string };
  const timeout =
    e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT' || e.code === 'UND_ERR_CONNECT_TIMEOUT';
  return new BedrockClaudeError(
    timeout
      ? `Bedrock in ${target.region} did not answer in time (${e.code}).`
      : `Could not reach Bedrock in ${target.region}: ${e.code ?? e.name ?? 'error'} ${e.message ?? ''}`.trim(),
    { status: timeout ? 504 : 502, type: timeout ? 'timeout_error' : 'api_error', cause: err },
  );
}
