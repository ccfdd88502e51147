import type { ControlStore } from '../control/control-store.js';
import type { SignedIn } from './tokens.js';

/**
 * Sign-outs as this replica knows them: read from the store every `everyMs` (15 s: every replica refuses a revoked
 * person's tokens within that) and at once after a sign-out here. A read that fails keeps the last state and is said
 * by `onError` (the next read retries).
 */
export function createRevocationCache(
  store: ControlStore,
  clock: () => number,
  onError: (err: unknown) => void,
  everyMs = 15_000,
) {
  let subjects = new Map<string, { at: number; by: string | null }>();
  let tokens = new Set<string>();
  const refresh = async () => {
    try {
      const state = await store.revocations(clock());
      subjects = new Map(state.subjects.map((s) => [s.subject, { at: s.at, by: s.by }]));
      tokens = new Set(state.tokens);
    } catch (err) {
      onError(err);
    }
  };
  const timer = setInterval(() => void refresh(), everyMs);
  timer.unref();
  return {
    ready: refresh(),
    refresh,
    /** A token issued to a person before they were signed out everywhere (to the ms), or signed out itself. */
    revoked: (t: SignedIn): boolean => {
      const at = subjects.get(t.sub)?.at;
      return (at !== undefined && t.issuedMs < at) || (t.jti !== undefined && tokens.has(t.jti));
    },
    /** When the person was last signed out everywhere (ms), if they were: their refresh is refused for a while. */
    signedOutAt(sub: string): number | undefined {
      const s = subjects.get(sub);
      return s && s.by !== 'idp:groups' ? s.at : undefined;
    },
    /** Before when the person's tokens and sessions are refused (a sign-out, or their groups changed), if ever. */
    staleBefore: (sub: string): number | undefined => subjects.get(sub)?.at,
    close: () => clearInterval(timer),
  };
}

export type RevocationCache = ReturnType<typeof createRevocationCache>;
