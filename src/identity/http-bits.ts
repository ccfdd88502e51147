import type { Ctx, Reply } from '../server/pipeline.js';
import type { TokenIssuer } from './tokens.js';

/** Headers on every sign-in answer (the reference's, and what a page needs). */
export const SECURITY = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

/** The person a request's bearer token names, if it is a valid gateway token. */
export async function bearerPerson(ctx: Ctx, tokens: TokenIssuer) {
  const auth = String(ctx.req.headers['authorization'] ?? '');
  return auth.startsWith('Bearer ') ? tokens.verify(auth.slice(7).trim()) : undefined;
}

/** Any bearer problem: the same 401, in the Anthropic envelope. */
export function invalidToken(ctx: Ctx): Reply {
  return {
    status: 401,
    headers: Object.assign({ 'content-type': 'application/json' }, SECURITY),
    body: JSON.stringify({
      type: 'error',
      request_id: ctx.id,
      error: { type: 'authentication_error', message: 'invalid token' },
    }),
  };
}

/** A cookie's value by name, from the request's Cookie header. */
export function cookieNamed(ctx: Ctx, name: string): string | undefined {
  for (const part of String(ctx.req.headers['cookie'] ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}
