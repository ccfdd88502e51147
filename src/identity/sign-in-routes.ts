import { randomBytes, randomInt } from 'node:crypto';
import { hashKey } from '../control/gateway-keys.js';
import { ResponseBodyError } from 'openid-client';
import type { ControlStore } from '../control/control-store.js';
import type { Ctx, Reply } from '../server/pipeline.js';
import type { IdentityConfig } from './config.js';
import { SignInRefused, type IdentityProvider } from './oidc.js';
import { devicePage, messagePage, pageHeaders } from './pages.js';
import type { RevocationCache } from './revocations.js';
import { sealedAccess } from './membership.js';
import type { TokenIssuer } from './tokens.js';
import { cookieNamed, SECURITY } from './http-bits.js';

const DEVICE_TTL_MS = 600_000;
const INTERVAL_S = 5;
const USER_CODE_LETTERS = 'BCDFGHJKLMNPQRSTVWXZ';
const COOKIE = 'gw_dev';

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

export interface SignInDeps {
  store: ControlStore;
  idp: IdentityProvider;
  tokens: TokenIssuer;
  config: IdentityConfig;
  /** The URL clients reach the gateway at (issuer, endpoints, redirect URI). */
  publicUrl: () => string;
  now: () => number;
  /** Sign-outs (checked on refresh, updated by `/oauth/revoke`). */
  revocations: RevocationCache;
  /** The dashboard's own sign-in, whose callback shares the device flow's (one redirect URI at the provider). */
  dashboardCallback?: ((ctx: Ctx) => Promise<Reply | undefined>) | undefined;
  /** A relay destination that failed (logged; no answer changes). */
  onRelayFailure?: ((destination: string, err: unknown) => void) | undefined;
}

export function oauthReply(status: number, value: unknown): Reply {
  return {
    status,
    headers: Object.assign({ 'content-type': 'application/json' }, SECURITY, NO_STORE),
    body: JSON.stringify(value),
  };
}

/** A per-address counter over a fixed window (in this process). */
function windowLimiter(max: number, windowMs: number, now: () => number) {
  const seen = new Map<string, { start: number; n: number }>();
  return (address: string | undefined): boolean => {
    const t = now();
    const key = address ?? '?';
    let w = seen.get(key);
    if (!w || t - w.start >= windowMs) {
      if (seen.size > 50_000) seen.clear();
      seen.set(key, (w = { start: t, n: 0 }));
    }
    return ++w.n <= max;
  };
}

async function form(ctx: Ctx): Promise<URLSearchParams | undefined> {
  const type = String(ctx.req.headers['content-type'] ?? '').toLowerCase();
  if (!type.startsWith('application/x-www-form-urlencoded')) return undefined;
  return new URLSearchParams((await ctx.req.body(65_536)).toString('utf8'));
}

function newUserCode(): string {
  let code = '';
  for (let i = 0; i < 8; i++) code += USER_CODE_LETTERS[randomInt(USER_CODE_LETTERS.length)];
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/** `bcdf ghjk`, `BCDFGHJK` and `BCDF-GHJK` are the same code. */
function normalUserCode(input: string | null | undefined): string | undefined {
  const letters = (input ?? '').toUpperCase().replace(/[^A-Z]/g, '');
  return letters.length === 8 ? `${letters.slice(0, 4)}-${letters.slice(4)}` : undefined;
}

/** RFC 8414 metadata, the device authorization endpoint and the token endpoint (device-code and refresh grants). */
export function oauthRoutes(deps: SignInDeps) {
  const rate = deps.config.rateLimits?.deviceAuthorization ?? { max: 30, windowSeconds: 600 };
  const limited = windowLimiter(rate.max, rate.windowSeconds * 1000, deps.now);
  const base = () => deps.publicUrl().replace(/\/+$/, '');
  return [
    {
      method: 'GET',
      path: '/.well-known/oauth-authorization-server',
      public: true,
      serve: (): Reply =>
        oauthReply(200, {
          issuer: base(),
          device_authorization_endpoint: `${base()}/oauth/device_authorization`,
          token_endpoint: `${base()}/oauth/token`,
          revocation_endpoint: `${base()}/oauth/revoke`,
          grant_types_supported: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
          response_types_supported: [],
          token_endpoint_auth_methods_supported: ['none'],
          scopes_supported: ['openid', 'profile', 'email'],
          gateway_protocol_version: 1,
        }),
    },
    {
      method: 'POST',
      path: '/oauth/device_authorization',
      public: true,
      serve: async (ctx: Ctx): Promise<Reply> => {
        if (!limited(ctx.req.remoteAddress))
          return oauthReply(429, {
            error: 'slow_down',
            error_description: 'Too many sign-in attempts came from your network, which other people may share.',
          });
        return deviceAuthorization(deps, base());
      },
    },
    { method: 'POST', path: '/oauth/token', public: true, serve: (ctx: Ctx) => token(deps, ctx) },
    { method: 'POST', path: '/oauth/revoke', public: true, serve: (ctx: Ctx) => revoke(deps, ctx) },
  ];
}

async function deviceAuthorization(deps: SignInDeps, base: string): Promise<Reply> {
  const deviceCode = randomBytes(32).toString('base64url');
  const created = deps.now();
  for (let attempt = 0; ; attempt++) {
    const userCode = newUserCode();
    try {
      await deps.store.createDeviceGrant({
        deviceCode: hashKey(deviceCode),
        userCode,
        created,
        expires: created + DEVICE_TTL_MS,
      });
    } catch (err) {
      if (attempt < 3 && (err as { kind?: string }).kind === 'conflict') continue;
      throw err;
    }
    const answer: Record<string, unknown> = {
      device_code: deviceCode,
      user_code: userCode,
      verification_uri: `${base}/device`,
      verification_uri_complete: `${base}/device?user_code=${userCode}`,
      expires_in: DEVICE_TTL_MS / 1000,
      interval: INTERVAL_S,
    };
    if (deps.config.loginNotice) answer['login_notice'] = deps.config.loginNotice;
    return oauthReply(200, answer);
  }
}

async function token(deps: SignInDeps, ctx: Ctx): Promise<Reply> {
  const params = await form(ctx);
  if (!params) return oauthReply(400, { error: 'invalid_request' });
  const grant = params.get('grant_type');
  if (grant === 'urn:ietf:params:oauth:grant-type:device_code') return deviceToken(deps, params.get('device_code'));
  if (grant === 'refresh_token') return refreshToken(deps, params.get('refresh_token'));
  return oauthReply(400, { error: 'unsupported_grant_type' });
}

async function deviceToken(deps: SignInDeps, deviceCode: string | null): Promise<Reply> {
  if (!deviceCode) return oauthReply(400, { error: 'invalid_request' });
  const polled = await deps.store.pollDeviceGrant(hashKey(deviceCode), deps.now(), INTERVAL_S * 1000 - 1000);
  if (polled.kind === 'unknown') return oauthReply(400, { error: 'expired_token' });
  if (polled.kind === 'slow_down') return oauthReply(429, { error: 'slow_down' });
  if (polled.kind === 'pending') return oauthReply(400, { error: 'authorization_pending' });
  if (polled.kind === 'denied' || !polled.grant.person) return oauthReply(400, { error: 'access_denied' });
  return tokenAnswer(deps, polled.grant.person, polled.grant.refresh);
}

async function tokenAnswer(deps: SignInDeps, person: Parameters<TokenIssuer['mint']>[0], refresh: string | null) {
  // The person as the provider vouched now: the admin API and the reports list them (a token is handed out only once
  // this is in the store).
  const now = deps.now();
  await deps.store.sawPerson(person, now);
  // A token lasts no longer than the provider's access token the gateway checks the person with.
  const access = await deps.store.personAccess(person.sub);
  const notAfter = access && access.expires > now ? access.expires : undefined;
  const answer: Record<string, unknown> = {
    access_token: await deps.tokens.mint(person, notAfter),
    token_type: 'Bearer',
    expires_in: Math.min(deps.tokens.ttlSeconds, Math.floor(((notAfter ?? Infinity) - now) / 1000)),
  };
  if (refresh) answer['refresh_token'] = refresh;
  return oauthReply(200, answer);
}

/**
 * RFC 7009: a gateway token is signed out (on every replica, until it would have expired); anything else is handed to
 * the identity provider to revoke where it can. The answer is 200 whatever the token was, as the RFC asks.
 */
async function revoke(deps: SignInDeps, ctx: Ctx): Promise<Reply> {
  const presented = (await form(ctx))?.get('token');
  if (!presented) return oauthReply(400, { error: 'invalid_request' });
  const signedIn = await deps.tokens.verify(presented);
  if (signedIn?.jti) {
    await deps.store.revokeToken(signedIn.jti, signedIn.exp * 1000, deps.now());
    await deps.revocations.refresh();
  } else if (!signedIn) await deps.idp.revoke(presented);
  return oauthReply(200, {});
}

/** A person signed out everywhere in the last 30 days must sign in again in a browser: refresh is refused. */
const REFRESH_REFUSED_MS = 30 * 86_400_000;

/**
 * The identity provider's refresh token, exchanged there again: the person as the provider sees them now (removed
 * from the provider or from every allowed group: `invalid_grant`, which sends the device back to sign-in).
 */
async function refreshToken(deps: SignInDeps, refresh: string | null): Promise<Reply> {
  if (!refresh) return oauthReply(400, { error: 'invalid_request' });
  try {
    const fresh = await deps.idp.refresh(refresh);
    const out = deps.revocations.signedOutAt(fresh.person.sub);
    if (out !== undefined && out > deps.now() - REFRESH_REFUSED_MS) return oauthReply(401, { error: 'invalid_grant' });
    await deps.store.sawPerson(fresh.person, deps.now(), sealedAccess(deps.config.session, fresh.access, deps.now()));
    return await tokenAnswer(deps, fresh.person, fresh.refresh);
  } catch (err) {
    if (err instanceof SignInRefused || err instanceof ResponseBodyError)
      return oauthReply(401, { error: 'invalid_grant' });
    return oauthReply(503, { error: 'temporarily_unavailable' });
  }
}

/**
 * The browser leg: the verification page, the hand-over to the identity provider (authorization code, PKCE, nonce,
 * a state kept with the grant and a cookie binding the browser), the refusal, and the callback.
 */
export function verificationRoutes(deps: SignInDeps) {
  const rate = deps.config.rateLimits?.deviceVerify ?? { max: 10, windowSeconds: 600 };
  const limited = windowLimiter(rate.max, rate.windowSeconds * 1000, deps.now);
  const html = (status: number, body: string, extra: Record<string, string> = {}): Reply => ({
    status,
    headers: Object.assign({}, SECURITY, pageHeaders(deps.idp.authorizationOrigin), extra),
    body,
  });
  const sameOrigin = (ctx: Ctx): boolean => {
    const site = ctx.req.headers['sec-fetch-site'];
    if (site !== undefined) return site === 'same-origin' || site === 'none';
    return ctx.req.headers['origin'] === new URL(deps.publicUrl()).origin;
  };
  const blockedText = 'This request came from another site and was blocked. Open the verification link directly.';
  const blocked = () => html(200, messagePage('Blocked', blockedText));
  return [
    {
      method: 'GET',
      path: '/device',
      public: true,
      serve: (ctx: Ctx): Reply => {
        const code = normalUserCode(new URL(ctx.req.url, 'http://x').searchParams.get('user_code'));
        return html(200, devicePage(code, deps.config.loginNotice));
      },
    },
    {
      method: 'POST',
      path: '/device',
      public: true,
      serve: async (ctx: Ctx): Promise<Reply> => {
        if (!sameOrigin(ctx)) return blocked();
        const later = 'Too many attempts came from your network. Try again later.';
        if (!limited(ctx.req.remoteAddress)) return html(200, messagePage('Try again later', later));
        return approve(deps, ctx, html);
      },
    },
    {
      method: 'POST',
      path: '/device/deny',
      public: true,
      serve: async (ctx: Ctx): Promise<Reply> => {
        if (!sameOrigin(ctx)) return blocked();
        const code = normalUserCode((await form(ctx))?.get('user_code'));
        const grant = code ? await deps.store.deviceGrantByUserCode(code, deps.now()) : undefined;
        if (grant) await deps.store.finishDeviceGrant(grant.deviceCode, null, null);
        return html(200, messagePage('Sign-in stopped', 'You stopped this sign-in. You can close this window.'));
      },
    },
    {
      method: 'GET',
      path: '/oauth/callback',
      public: true,
      serve: async (ctx: Ctx) => (await deps.dashboardCallback?.(ctx)) ?? callback(deps, ctx, html),
    },
  ];
}

type Html = (status: number, body: string, extra?: Record<string, string>) => Reply;

async function approve(deps: SignInDeps, ctx: Ctx, html: Html): Promise<Reply> {
  const code = normalUserCode((await form(ctx))?.get('user_code'));
  const grant = code ? await deps.store.deviceGrantByUserCode(code, deps.now()) : undefined;
  if (!grant || (grant.status !== 'pending' && grant.status !== 'verifying'))
    return html(
      200,
      messagePage(
        'Code not recognized',
        'That code was not recognized — it may have expired. Start again on your device.',
      ),
    );
  const leg = {
    state: randomBytes(32).toString('base64url'),
    nonce: randomBytes(16).toString('base64url'),
    verifier: randomBytes(32).toString('base64url'),
  };
  const cookie = randomBytes(32).toString('base64url');
  await deps.store.startVerifying(grant.deviceCode, Object.assign({ cookie: hashKey(cookie) }, leg));
  const url = await deps.idp.authorizationUrl(Object.assign({ redirectUri: redirectUri(deps) }, leg));
  const secure = deps.publicUrl().startsWith('https:') ? '; Secure' : '';
  return {
    status: 302,
    headers: Object.assign({}, SECURITY, NO_STORE, {
      location: url.href,
      'set-cookie': `${COOKIE}=${cookie}; Max-Age=600; HttpOnly; SameSite=Lax; Path=/${secure}`,
    }),
    body: undefined,
  };
}

const redirectUri = (deps: SignInDeps) => `${deps.publicUrl().replace(/\/+$/, '')}/oauth/callback`;

async function callback(deps: SignInDeps, ctx: Ctx, html: Html): Promise<Reply> {
  const url = new URL(ctx.req.url, deps.publicUrl());
  const clear = { 'set-cookie': `${COOKIE}=; Max-Age=0; HttpOnly; SameSite=Lax; Path=/` };
  const state = url.searchParams.get('state');
  const grant = state ? await deps.store.deviceGrantByState(state, deps.now()) : undefined;
  if (!grant || grant.status !== 'verifying' || !grant.verifier || !grant.nonce)
    return html(200, messagePage('Link expired', 'This sign-in link has expired. Try again from your device.'), clear);
  const cookie = cookieNamed(ctx, COOKIE);
  if (!cookie || hashKey(cookie) !== grant.cookie)
    return html(200, messagePage('Different browser', 'This sign-in link was started in a different browser.'), clear);
  const error = url.searchParams.get('error');
  if (error) {
    await deps.store.finishDeviceGrant(grant.deviceCode, null, null);
    const said = `${error}: ${url.searchParams.get('error_description') ?? ''}`.slice(0, 300);
    return html(200, messagePage('Sign-in failed', said), clear);
  }
  try {
    const done = await deps.idp.finish(url, { state: state!, nonce: grant.nonce, verifier: grant.verifier });
    await deps.store.sawPerson(done.person, deps.now(), sealedAccess(deps.config.session, done.access, deps.now()));
    await deps.store.finishDeviceGrant(grant.deviceCode, done.person, done.refresh);
    return html(200, messagePage("You're signed in", 'Return to your device: it will finish signing in.'), clear);
  } catch (err) {
    await deps.store.finishDeviceGrant(grant.deviceCode, null, null);
    const why = err instanceof SignInRefused ? ` (${err.message})` : '';
    return html(200, messagePage("We couldn't finish signing you in", `Sign-in could not be completed${why}.`), clear);
  }
}
