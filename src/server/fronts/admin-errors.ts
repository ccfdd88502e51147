import type { z } from 'zod';
import { validate } from '../../control/records.js';
import { StoreError, type StoreErrorKind } from '../../control/store-errors.js';
import { BedrockClaudeError, invalidRequest, type AnthropicErrorType } from '../../errors.js';

// How an admin call fails: bad input names its field (400); the store's errors by kind, one table.

/** A 400 that names the field, from zod's first issue. */
export function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = validate(schema, value);
  if (r.ok) return r.value;
  throw invalidRequest(r.problem, 'See the admin API in the README for the fields each call takes.');
}

/** Each kind of store error as an answer: one table, so every admin call says the same thing. */
const STORE_STATUS: Record<StoreErrorKind, { status: number; type: AnthropicErrorType }> = {
  not_found: { status: 404, type: 'not_found_error' },
  conflict: { status: 409, type: 'invalid_request_error' },
  unavailable: { status: 503, type: 'api_error' },
};
const STORE_FIX = 'Check that the store (the data directory, or PostgreSQL) is reachable; /readyz says what is wrong.';

/**
 * The store's own errors as the client's mistake (no such key: 404, a name taken or a team in use:
 * 409); the store failing (a database gone), or anything unexpected, is a 503 that says so, never a 400.
 */
export async function storeCall<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof BedrockClaudeError) throw err;
    const kind = err instanceof StoreError ? err.kind : 'unavailable';
    const { status, type } = STORE_STATUS[kind];
    const message =
      kind === 'unavailable' ? `The control-plane store failed: ${(err as Error).message}` : (err as Error).message;
    throw new BedrockClaudeError(message, {
      status,
      type,
      cause: err,
      ...(kind === 'unavailable' ? { fix: STORE_FIX } : {}),
    });
  }
}
