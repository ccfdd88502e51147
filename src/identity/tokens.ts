import { createHash, randomBytes } from 'node:crypto';
import { jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type { Person } from '../control/device-grants.js';

/** The `kid` of a secret: the first 16 hex digits of its SHA-256 (which key signed, never the key). */
export function keyId(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex').slice(0, 16);
}

const CACHE_LIMIT = 10_000;

/** A token's person, with when it was issued and expires (seconds) and its id (for a single sign-out). */
export interface SignedIn extends Person {
  iat: number;
  /** When it was issued, in ms (`iat_ms`: `iat`, in seconds, cannot tell a token from a sign-out that second). */
  issuedMs: number;
  exp: number;
  jti: string | undefined;
}

/**
 * The gateway's own bearer tokens: HS256 JWTs with the person (`sub`, `email`, `name`, `groups`), `aud` the OIDC
 * client ID, `iss` the gateway's public URL. The first secret signs; every one verifies (rotation). A verified token
 * is remembered until it expires, so checking it again costs one map look-up, like a key's.
 */
export function createTokenIssuer(options: {
  secrets: readonly string[];
  /** The gateway's public URL (known once it listens when not configured). */
  issuer: () => string;
  audience: string;
  ttlMs: number;
  now: () => number;
  /** Whether a token was signed out since (checked on every use, cached or not). */
  revoked?: ((token: SignedIn) => boolean) | undefined;
  /** Whether its person may still work (the membership check: asks the provider at most once a minute). */
  vet?: ((token: SignedIn) => Promise<boolean>) | undefined;
}) {
  const keys = new Map(options.secrets.map((s) => [keyId(s), new TextEncoder().encode(s)]));
  const signer = { kid: keyId(options.secrets[0]!), key: keys.get(keyId(options.secrets[0]!))! };
  const verified = new Map<string, SignedIn>();
  const live = async (p: SignedIn | undefined) => {
    if (!p || options.revoked?.(p)) return undefined;
    return !options.vet || (await options.vet(p)) ? p : undefined;
  };
  return {
    ttlSeconds: Math.round(options.ttlMs / 1000),
    /** A token for a person, expiring after the TTL, or at `notAfterMs` when that is sooner. */
    async mint(person: Person, notAfterMs?: number): Promise<string> {
      const issuedMs = Math.floor(options.now());
      const iat = Math.floor(issuedMs / 1000);
      const exp = Math.min(iat + Math.round(options.ttlMs / 1000), Math.floor((notAfterMs ?? Infinity) / 1000));
      const claims: JWTPayload & Record<string, unknown> = { email: person.email, groups: person.groups };
      if (person.name) claims['name'] = person.name;
      claims['iat_ms'] = issuedMs;
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: signer.kid })
        .setSubject(person.sub)
        .setAudience(options.audience)
        .setIssuer(options.issuer())
        .setIssuedAt(iat)
        .setJti(randomBytes(16).toString('base64url'))
        .setExpirationTime(exp)
        .sign(signer.key);
    },
    /** The person a token names, or undefined for any bad token (signature, expiry, audience, issuer). */
    async verify(token: string): Promise<SignedIn | undefined> {
      const hit = verified.get(token);
      if (hit) {
        if (hit.exp > options.now() / 1000) return live(hit);
        return void verified.delete(token);
      }
      try {
        const { payload } = await jwtVerify(token, (header) => keys.get(String(header.kid)) ?? new Uint8Array(32), {
          algorithms: ['HS256'],
          audience: options.audience,
          issuer: options.issuer(),
          currentDate: new Date(options.now()),
        });
        const signedIn = signedInOf(payload);
        if (!signedIn) return undefined;
        if (verified.size >= CACHE_LIMIT) verified.delete(verified.keys().next().value!);
        verified.set(token, signedIn);
        return live(signedIn);
      } catch {
        return undefined;
      }
    },
  };
}

/** A verified token's person, with when it was issued and expires, and its id. */
function signedInOf(payload: JWTPayload): SignedIn | undefined {
  const person = personOf(payload);
  if (!person || typeof payload.exp !== 'number' || typeof payload.iat !== 'number') return undefined;
  const ms = typeof payload['iat_ms'] === 'number' ? payload['iat_ms'] : payload.iat * 1000;
  return Object.assign(person, { iat: payload.iat, issuedMs: ms, exp: payload.exp, jti: payload.jti });
}

function personOf(payload: JWTPayload): Person | undefined {
  const { sub, email, name, groups } = payload as JWTPayload & { email?: unknown; name?: unknown; groups?: unknown };
  if (typeof sub !== 'string' || typeof email !== 'string') return undefined;
  return {
    sub,
    email,
    ...(typeof name === 'string' ? { name } : {}),
    groups: Array.isArray(groups) ? groups.filter((g): g is string => typeof g === 'string') : [],
  };
}

export type TokenIssuer = ReturnType<typeof createTokenIssuer>;
