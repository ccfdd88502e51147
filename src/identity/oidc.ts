import * as client from 'openid-client';
import type { Person } from '../control/device-grants.js';
import type { IdentityConfig } from './config.js';

/** Why the identity provider's answer does not let a person in (said on the page and in the log, never a secret). */
export class SignInRefused extends Error {}

const LOOPBACK = /^http:\/\/(127\.\d+\.\d+\.\d+|\[::1\]|localhost)(:\d+)?(\/|$)/;

/** Reads a claim that may be a list or one string (some providers send one group as a string). */
function listClaim(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string').slice(0, 200);
  return typeof value === 'string' && value ? [value] : [];
}

/** The person the provider vouched for, judged by the config: verified email, allowed domain, allowed group. */
export function personFromClaims(claims: Record<string, unknown>, oidc: IdentityConfig['oidc']): Person {
  const sub = claims['sub'];
  const email = claims[oidc.emailClaim];
  if (typeof sub !== 'string' || !sub) throw new SignInRefused('the identity provider sent no subject');
  if (typeof email !== 'string' || !email.includes('@')) throw new SignInRefused('the identity provider sent no email');
  if (claims['email_verified'] === false) throw new SignInRefused('the email address is not verified');
  const domain = email.slice(email.lastIndexOf('@') + 1).toLowerCase();
  if (oidc.allowedEmailDomains && !oidc.allowedEmailDomains.some((d) => d.toLowerCase() === domain))
    throw new SignInRefused('email domain not allowed');
  const groups = listClaim(claims[oidc.groupsClaim]);
  if (oidc.allowedGroups && !groups.some((g) => oidc.allowedGroups!.includes(g)))
    throw new SignInRefused('not in an allowed group');
  const name = claims['name'];
  return {
    sub: sub.slice(0, 256),
    email: email.slice(0, 320),
    groups,
    ...(typeof name === 'string' ? { name: name.slice(0, 200) } : {}),
  };
}

type Tokens = client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;

/** The ID token's claims, with userinfo's where a provider keeps email or groups out of the ID token. */
async function claimsWithUserinfo(
  config: client.Configuration,
  oidc: IdentityConfig['oidc'],
  tokens: Tokens,
): Promise<Record<string, unknown>> {
  const claims = (tokens.claims() ?? {}) as Record<string, unknown>;
  if ((claims[oidc.emailClaim] === undefined || claims[oidc.groupsClaim] === undefined) && tokens.access_token) {
    const sub = claims['sub'];
    const info = await client.fetchUserInfo(
      config,
      tokens.access_token,
      typeof sub === 'string' ? sub : client.skipSubjectCheck,
    );
    return Object.assign({}, info, claims) as Record<string, unknown>;
  }
  return claims;
}

/**
 * The company's identity provider, as an OpenID Connect relying party (openid-client): discovery, the authorization
 * code flow with PKCE and a nonce, and the refresh grant. Plain HTTP only to a loopback issuer (a test provider).
 */
export async function connectIdentityProvider(oidc: IdentityConfig['oidc']) {
  const options = LOOPBACK.test(oidc.issuer) ? { execute: [client.allowInsecureRequests] } : undefined;
  const config = await client.discovery(
    new URL(oidc.issuer),
    oidc.clientId,
    undefined,
    oidc.clientSecret ? client.ClientSecretPost(oidc.clientSecret) : client.None(),
    options,
  );
  const claimsOf = (tokens: Tokens) => claimsWithUserinfo(config, oidc, tokens);
  return {
    /** Where to send the browser: the provider's authorization endpoint with the request's state, nonce and PKCE. */
    async authorizationUrl(p: { redirectUri: string; state: string; nonce: string; verifier: string }): Promise<URL> {
      const params: Record<string, string> = {
        redirect_uri: p.redirectUri,
        scope: oidc.scopes.join(' '),
        response_type: 'code',
        state: p.state,
        nonce: p.nonce,
        response_mode: 'query',
      };
      if (oidc.usePkce) {
        params['code_challenge'] = await client.calculatePKCECodeChallenge(p.verifier);
        params['code_challenge_method'] = 'S256';
      }
      return client.buildAuthorizationUrl(config, params);
    },
    /** The callback's code exchanged for tokens; the person they vouch for, and the provider's refresh token. */
    async finish(callback: URL, checks: { state: string; nonce: string; verifier: string }) {
      const tokens = await client.authorizationCodeGrant(config, callback, {
        expectedState: checks.state,
        expectedNonce: checks.nonce,
        ...(oidc.usePkce ? { pkceCodeVerifier: checks.verifier } : {}),
        idTokenExpected: true,
      });
      return {
        person: personFromClaims(await claimsOf(tokens), oidc),
        refresh: tokens.refresh_token ?? null,
        access: accessOf(tokens),
      };
    },
    /** A refresh token exchanged again: the person as the provider sees them now (groups re-read), its new token. */
    async refresh(refreshToken: string) {
      const tokens = await client.refreshTokenGrant(config, refreshToken);
      return {
        person: personFromClaims(await claimsOf(tokens), oidc),
        refresh: tokens.refresh_token ?? refreshToken,
        access: accessOf(tokens),
      };
    },
    /**
     * The person as the provider sees them now, by its userinfo endpoint with their access token: refused
     * (`SignInRefused`) when they may no longer sign in, undefined when the provider does not say their groups there
     * (then only that the token still works is known), or the provider's error when the token no longer works.
     */
    async userinfo(accessToken: string, sub: string): Promise<Person | undefined> {
      const info = (await client.fetchUserInfo(config, accessToken, sub)) as Record<string, unknown>;
      if (info[oidc.groupsClaim] === undefined || info[oidc.emailClaim] === undefined) return undefined;
      return personFromClaims(info, oidc);
    },
    /** Asks the provider to revoke a token of its own, where it offers revocation (best effort: never throws). */
    async revoke(token: string): Promise<void> {
      if (!config.serverMetadata().revocation_endpoint) return;
      await client.tokenRevocation(config, token).catch(() => undefined);
    },
    /** The authorization endpoint's origin (for the verification page's form-action policy). */
    authorizationOrigin: new URL(config.serverMetadata().authorization_endpoint ?? oidc.issuer).origin,
  };
}

export type IdentityProvider = Awaited<ReturnType<typeof connectIdentityProvider>>;

/** The provider's access token and how long it lasts (s), for the membership check; none without a lifetime. */
function accessOf(tokens: Tokens) {
  const seconds = tokens.expiresIn();
  if (!tokens.access_token || seconds === undefined) return null;
  return { token: tokens.access_token, lifetimeS: seconds };
}
