import { randomBytes } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import type { ControlStore } from '../control/control-store.js';
import type { Person } from '../control/device-grants.js';
import { hashKey } from '../control/gateway-keys.js';
import type { KeyStore } from '../control/key-store.js';
import type { Principal } from '../server/fronts/admin-access.js';
import type { Ctx, Reply, RouteSpec } from '../server/pipeline.js';
import type { IdentityConfig } from './config.js';
import { cookieNamed, SECURITY } from './http-bits.js';
import { SignInRefused, type IdentityProvider } from './oidc.js';
import { messagePage, pageHeaders } from './pages.js';
import { teamsOf } from './people-keys.js';
import type { RevocationCache } from './revocations.js';
import { sealedAccess, type MembershipCheck } from './membership.js';

/** The dashboard's session cookie, and the one that carries the sign-in's state to the callback. */
export const SESSION_COOKIE = 'bc_session';
const LOGIN_COOKIE = 'bc_login';
const LOGIN_TTL_S = 600;

export interface DashboardDeps {
  store: ControlStore;
  idp: IdentityProvider;
  config: IdentityConfig;
  keys: KeyStore;
  revocations: RevocationCache;
  /** Whether the person may still work (asked of the provider at most once a minute). */
  membership: MembershipCheck;
  publicUrl: () => string;
  now: () => number;
}

/** A person's role and teams, from their groups and the config's `roles`. */
export function principalOf(person: Person, deps: Pick<DashboardDeps, 'config' | 'keys'>): Omit<Principal, 'actor'> {
  const roles = deps.config.roles;
  const mine = new Set(person.groups);
  const adminOf = new Set<string>();
  for (const [group, teams] of Object.entries(roles?.teamAdmins ?? {}))
    if (mine.has(group)) for (const t of Array.isArray(teams) ? teams : [teams]) adminOf.add(t);
  const admin = (roles?.admins ?? []).some((g) => mine.has(g));
  return {
    role: admin ? 'admin' : adminOf.size ? 'team-admin' : 'member',
    email: person.email,
    name: person.name,
    adminOf: [...adminOf],
    teams: teamsOf(person.groups, deps.config, deps.keys),
  };
}

// Secure always: browsers keep a Secure cookie of http://localhost and 127.0.0.1 too (trustworthy origins).
const ATTRS = 'HttpOnly; Path=/; Secure';
const redirectUri = (deps: DashboardDeps) => `${deps.publicUrl().replace(/\/+$/, '')}/oauth/callback`;

function page(deps: DashboardDeps, title: string, text: string, extra: Record<string, string> = {}): Reply {
  return {
    status: 200,
    headers: Object.assign({}, SECURITY, pageHeaders(deps.idp.authorizationOrigin), extra),
    body: messagePage(title, text),
  };
}

/** The keys that seal the sign-in's state cookie: the session secrets, set apart from the tokens' by a label. */
function sealKeys(config: IdentityConfig): Uint8Array[] {
  const s = config.session.jwtSecret;
  return (Array.isArray(s) ? s : [s]).map((x) => new TextEncoder().encode(`ui-login:${x}`));
}

/** `GET /ui/login`: off to the provider with a state, a nonce and PKCE, which ride back in a sealed cookie. */
async function login(deps: DashboardDeps, keys: Uint8Array[]): Promise<Reply> {
  const leg = {
    state: randomBytes(32).toString('base64url'),
    nonce: randomBytes(16).toString('base64url'),
    verifier: randomBytes(32).toString('base64url'),
  };
  const sealed = await new SignJWT(leg)
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(Math.floor(deps.now() / 1000) + LOGIN_TTL_S)
    .sign(keys[0]!);
  const url = await deps.idp.authorizationUrl(Object.assign({ redirectUri: redirectUri(deps) }, leg));
  return {
    status: 302,
    headers: Object.assign({}, SECURITY, {
      'cache-control': 'no-store',
      location: url.href,
      // Lax: the provider's redirect back is a cross-site navigation, which a Strict cookie would not ride.
      'set-cookie': `${LOGIN_COOKIE}=${sealed}; Max-Age=${LOGIN_TTL_S}; SameSite=Lax; ${ATTRS}`,
    }),
    body: undefined,
  };
}

async function unsealed(deps: DashboardDeps, keys: Uint8Array[], token: string) {
  for (const key of keys) {
    try {
      const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'], currentDate: new Date(deps.now()) });
      return payload as { state?: unknown; nonce?: unknown; verifier?: unknown };
    } catch {
      // the next secret (rotation), or none
    }
  }
  return undefined;
}

/** The callback, when it is the dashboard's (its cookie's state is the query's); undefined for a device's. */
async function callback(deps: DashboardDeps, keys: Uint8Array[], ctx: Ctx): Promise<Reply | undefined> {
  const sealed = cookieNamed(ctx, LOGIN_COOKIE);
  const url = new URL(ctx.req.url, deps.publicUrl());
  const state = url.searchParams.get('state');
  if (!sealed || !state) return undefined;
  const leg = await unsealed(deps, keys, sealed);
  if (!leg || leg.state !== state || typeof leg.nonce !== 'string' || typeof leg.verifier !== 'string')
    return undefined;
  const clear = `${LOGIN_COOKIE}=; Max-Age=0; SameSite=Lax; ${ATTRS}`;
  const error = url.searchParams.get('error');
  if (error) return page(deps, 'Sign-in failed', error.slice(0, 200), { 'set-cookie': clear });
  let person: Person;
  let access: Awaited<ReturnType<IdentityProvider['finish']>>['access'];
  try {
    ({ person, access } = await deps.idp.finish(url, { state, nonce: leg.nonce, verifier: leg.verifier }));
  } catch (err) {
    const why = err instanceof SignInRefused ? ` (${err.message})` : '';
    return page(deps, 'Sign-in failed', `The identity provider did not let you in${why}.`, { 'set-cookie': clear });
  }
  const cookie = randomBytes(32).toString('base64url');
  const now = deps.now();
  const ttlMs = deps.config.session.ttlHours * 3_600_000;
  await deps.store.sawPerson(person, now, sealedAccess(deps.config.session, access, now));
  const csrf = randomBytes(24).toString('base64url');
  await deps.store.createUiSession({ id: hashKey(cookie), person, csrf, created: now, expires: now + ttlMs });
  const session = `${SESSION_COOKIE}=${cookie}; Max-Age=${Math.round(ttlMs / 1000)}; SameSite=Strict; ${ATTRS}`;
  // A page, not a redirect: a Strict cookie set by a cross-site navigation is sent from the next same-site one.
  return page(deps, "You're signed in", 'Opening the dashboard (/ui).', {
    'set-cookie': [clear, session] as unknown as string,
    refresh: '0; url=/ui/#/overview',
  });
}

/** The session a request's cookie names (in the store, not ended, not signed out since), or none. */
async function sessionOf(deps: DashboardDeps, ctx: Ctx) {
  const cookie = cookieNamed(ctx, SESSION_COOKIE);
  if (!cookie || cookie.length > 100) return undefined;
  const s = await deps.store.uiSession(hashKey(cookie), deps.now());
  if (!s) return undefined;
  const out = deps.revocations.staleBefore(s.person.sub);
  if (out !== undefined && s.created < out) return undefined;
  return (await deps.membership.check(s.person)) ? s : undefined;
}

/** `POST /ui/logout`, with the session's CSRF token: the session ends in the store, the cookie is cleared. */
async function logout(deps: DashboardDeps, ctx: Ctx): Promise<Reply> {
  const s = await sessionOf(deps, ctx);
  if (!s || ctx.req.headers['x-csrf-token'] !== s.csrf)
    return { status: 403, headers: Object.assign({}, SECURITY), body: undefined };
  await deps.store.deleteUiSession(s.id);
  const clear = `${SESSION_COOKIE}=; Max-Age=0; SameSite=Strict; ${ATTRS}`;
  return { status: 204, headers: Object.assign({}, SECURITY, { 'set-cookie': clear }), body: undefined };
}

/**
 * The dashboard's sign-in through the identity provider: `GET /ui/login` (authorization code, PKCE and a nonce; the
 * state rides in a sealed, HttpOnly, 10-minute cookie, so any replica can take the callback), the shared callback
 * (which makes a session in the store and sets its HttpOnly, Secure, SameSite=Strict cookie), `POST /ui/logout`, and
 * the session as the admin API's principal (its role from the person's groups; an admin's sign-out ends it).
 */
export function dashboardLogin(deps: DashboardDeps) {
  const keys = sealKeys(deps.config);
  const routes: RouteSpec[] = [
    { method: 'GET', path: '/ui/login', public: true, serve: () => login(deps, keys) },
    { method: 'POST', path: '/ui/logout', public: true, serve: (ctx: Ctx) => logout(deps, ctx) },
    // Tells the dashboard's sign-in page to offer the identity provider.
    {
      method: 'GET',
      path: '/ui/sign-in.json',
      public: true,
      serve: (): Reply => ({
        status: 200,
        headers: Object.assign({ 'content-type': 'application/json', 'cache-control': 'no-store' }, SECURITY),
        body: JSON.stringify({ identityProvider: true, login: '/ui/login' }),
      }),
    },
  ];
  return {
    routes,
    callback: (ctx: Ctx) => callback(deps, keys, ctx),
    /** The session as the admin API's principal: its role from the person's groups at sign-in. */
    async principal(ctx: Ctx): Promise<Principal | undefined> {
      const s = await sessionOf(deps, ctx);
      if (!s) return undefined;
      const actor = { actor: `oidc:${s.person.sub}`, via: 'dashboard' as const, address: ctx.req.remoteAddress };
      return Object.assign(principalOf(s.person, deps), {
        actor: Object.assign(actor, { time: deps.now() }),
        csrf: s.csrf,
      });
    },
  };
}
