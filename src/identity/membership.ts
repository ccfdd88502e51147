import { seal, unseal } from '../control/seal.js';
import type { ControlStore } from '../control/control-store.js';
import type { Person } from '../control/device-grants.js';
import { SignInRefused, type IdentityProvider } from './oidc.js';
import type { RevocationCache } from './revocations.js';

/** How often a working person is asked about at the identity provider (per replica). */
export const CHECK_EVERY_MS = 60_000;

/** Seals a provider token for the store (AES-256-GCM, a key from the session's first secret). */
export const sealToken = (secrets: readonly string[], token: string): string => seal('idp-access', secrets, token);

/** Opens a sealed token with any of the session's secrets (rotation); undefined when none opens it. */
export const openToken = (secrets: readonly string[], sealed: string): string | undefined =>
  unseal('idp-access', secrets, sealed);

/** The session secrets of a config, the first first. */
export const secretsOf = (session: { jwtSecret: string | string[] }): string[] =>
  Array.isArray(session.jwtSecret) ? session.jwtSecret : [session.jwtSecret];

/** A provider access token as the store keeps it: sealed, with when it stops working by the gateway's clock. */
export function sealedAccess(
  session: { jwtSecret: string | string[] },
  access: { token: string; lifetimeS: number } | null,
  now: number,
): { sealed: string; expires: number } | null {
  if (!access) return null;
  return { sealed: sealToken(secretsOf(session), access.token), expires: now + access.lifetimeS * 1000 };
}

const sameGroups = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

export type MembershipStore = Pick<ControlStore, 'personAccess' | 'revokeSubject'>;

/**
 * Whether a signed-in person may still work, asked of the identity provider at most once a minute while they do (on
 * the request that finds their last answer a minute old), with the provider's latest access token for them:
 * - refused there (removed, disabled, out of every allowed group, the token revoked): signed out everywhere at once
 *   (`idp:removed`), so every replica refuses them within its next read of the sign-outs;
 * - groups changed: their tokens from before are refused (`idp:groups`), and their device's refresh gets new ones
 *   with the new groups (teams, roles, policy);
 * - the provider not answering: the last answer holds until the next try (the token still expires on its own).
 * A person with no token at the gateway (signed in before it kept them) is not asked.
 */
export function createMembershipCheck(deps: {
  store: MembershipStore;
  idp: Pick<IdentityProvider, 'userinfo'>;
  secrets: readonly string[];
  revocations: Pick<RevocationCache, 'refresh'>;
  now: () => number;
  onError?: ((err: unknown) => void) | undefined;
}) {
  const asked = new Map<string, { at: number; pending?: Promise<boolean> }>();
  async function ask(person: Person): Promise<boolean> {
    const access = await deps.store.personAccess(person.sub);
    const token = access && access.expires > deps.now() ? openToken(deps.secrets, access.sealed) : undefined;
    if (!token) return true;
    let verdict: 'ok' | 'idp:removed' | 'idp:groups';
    try {
      const now = await deps.idp.userinfo(token, person.sub);
      verdict = !now || sameGroups(now.groups, person.groups) ? 'ok' : 'idp:groups';
    } catch (err) {
      // Refused by the rules, or the provider's 401 (its WWW-Authenticate challenge: the token no longer works).
      const refused = err instanceof SignInRefused || (err as { status?: unknown }).status === 401;
      if (!refused) {
        deps.onError?.(err);
        return true;
      }
      verdict = 'idp:removed';
    }
    if (verdict === 'ok') return true;
    await deps.store.revokeSubject(person.sub, deps.now(), verdict);
    await deps.revocations.refresh();
    return false;
  }
  return {
    /** True while the person may work; false once the provider says otherwise (their tokens are refused). */
    async check(person: Person): Promise<boolean> {
      const now = deps.now();
      const last = asked.get(person.sub);
      if (last?.pending) return last.pending;
      if (last && now - last.at < CHECK_EVERY_MS) return true;
      const pending = ask(person)
        .catch((err: unknown) => {
          // The store away: the last answer holds, as the sign-outs' last read does.
          deps.onError?.(err);
          return true;
        })
        .finally(() => asked.set(person.sub, { at: deps.now() }));
      if (asked.size >= 100_000) asked.clear();
      asked.set(person.sub, { at: last?.at ?? 0, pending });
      return pending;
    },
  };
}

export type MembershipCheck = ReturnType<typeof createMembershipCheck>;
