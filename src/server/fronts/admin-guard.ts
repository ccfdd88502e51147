import { BedrockClaudeError } from '../../errors.js';

/** Failed admin logins allowed per client address in a window, before that address is refused for the rest of it. */
export const ADMIN_FAILURES_ALLOWED = 10;
const WINDOW_MS = 60_000;
/** Addresses remembered at most (a scan from many addresses cannot grow it without bound). */
const ADDRESSES = 10_000;

/**
 * Throttles failed admin-key attempts per client address: after {@link ADMIN_FAILURES_ALLOWED} failures in a
 * minute, that address gets 429 (with `retry-after`) until the minute is over, before its key is even looked at.
 * A success forgets the address's failures.
 */
export function createFailedAuthThrottle(clock: () => number) {
  const failures = new Map<string, { count: number; until: number }>();
  return {
    /** Throws 429 while the address is refused. */
    check(address: string): void {
      const f = failures.get(address);
      if (!f) return;
      const now = clock();
      if (now >= f.until) failures.delete(address);
      else if (f.count >= ADMIN_FAILURES_ALLOWED)
        throw new BedrockClaudeError(`Too many failed admin-key attempts from ${address}.`, {
          status: 429,
          type: 'rate_limit_error',
          retryAfter: Math.ceil((f.until - now) / 1000),
          fix: 'Wait, then send the right admin key (adminKey, BEDROCK_CLAUDE_ADMIN_KEY).',
        });
    },
    failed(address: string): void {
      const f = failures.get(address);
      if (f) f.count++;
      else {
        if (failures.size >= ADDRESSES) failures.clear();
        failures.set(address, { count: 1, until: clock() + WINDOW_MS });
      }
    },
    succeeded(address: string): void {
      failures.delete(address);
    },
  };
}

/** The shortest admin key taken: a guessable one would open the whole control plane. */
export const ADMIN_KEY_MIN_LENGTH = 32;

/** Why an admin key is refused at start-up, or undefined (a `sha256:<hex>` form is taken as is). */
export function weakAdminKey(adminKey: string): string | undefined {
  const key = adminKey.trim();
  if (/^sha256:[0-9a-f]{64}$/i.test(key) || key.length >= ADMIN_KEY_MIN_LENGTH) return undefined;
  return (
    `the admin key is ${key.length} characters long; it must be at least ${ADMIN_KEY_MIN_LENGTH} (it opens every ` +
    'key, team and report)'
  );
}
