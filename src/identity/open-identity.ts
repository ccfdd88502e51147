import type { ControlStore } from '../control/control-store.js';
import type { GatewayKey } from '../control/gateway-keys.js';
import type { KeyStore } from '../control/key-store.js';
import type { RouteGroup } from '../server/pipeline.js';
import type { IdentityConfig } from './config.js';
import { connectIdentityProvider } from './oidc.js';
import type { BedrockClaudeError } from '../errors.js';
import { bearerPerson, invalidToken } from './http-bits.js';
import { managedRoutes } from './managed-routes.js';
import { createPersonKeys } from './people-keys.js';
import { createMembershipCheck, secretsOf } from './membership.js';
import { dashboardLogin } from './dashboard-login.js';
import { protocolRoute } from './protocol-page.js';
import type { AdminDeps } from '../server/fronts/admin.js';
import { oauthReply, oauthRoutes, verificationRoutes, type SignInDeps } from './sign-in-routes.js';
import { relayRoutes } from './telemetry-relay.js';
import { createRevocationCache, type RevocationCache } from './revocations.js';
import { createTokenIssuer, type SignedIn, type TokenIssuer } from './tokens.js';
import { usageGroup } from './usage-route.js';

/** A gateway token: three base64url parts, the first a JSON header (`eyJ...`). */
const JWT = /^eyJ[\w-]*\.[\w-]+\.[\w-]+$/;

/**
 * Keys, and the people signed in through the identity provider: a gateway token is verified (remembered until it
 * expires) and stands for its person (`oidc:<email>` in the ledger, the email as its user, their teams by IdP group);
 * anything else is a key.
 */
export function withSignedInPeople(
  keys: KeyStore,
  tokens: TokenIssuer,
  keyOf: (person: SignedIn) => GatewayKey,
): KeyStore {
  return Object.assign({}, keys, {
    enabled: () => true,
    async find(presented: string | undefined): Promise<GatewayKey | undefined> {
      if (!presented || !JWT.test(presented)) return keys.find(presented);
      const person = await tokens.verify(presented);
      return person && keyOf(person);
    },
  });
}

/** What sign-in cannot run without: a public URL beyond loopback, and the store. */
function needsFor(deps: { configured: string | undefined; host: string; store: ControlStore | undefined }) {
  if (!deps.configured && !/^(127\.|localhost$|::1$)/.test(deps.host))
    throw Object.assign(new Error('identity: sign-in needs publicUrl when the gateway listens beyond loopback'), {
      fix: 'Set publicUrl to the https URL clients reach the gateway at.',
    });
  if (!deps.store)
    throw Object.assign(new Error('identity: sign-in needs the control plane store (a data directory or a database)'), {
      fix: 'Start with --data-dir (or dataDir / databaseUrl in the config).',
    });
}

/**
 * Sign-in with the company's identity provider: discovery at start-up (a provider that cannot be reached is an error:
 * nobody could sign in), the gateway's token issuer, and the sign-in endpoints. Device grants live in the store, so
 * every replica can answer every step.
 */
export async function openIdentity(
  config: IdentityConfig,
  deps: {
    store: ControlStore | undefined;
    clock: () => number;
    publicUrl: () => string;
    onRelayFailure?: ((destination: string, err: unknown) => void) | undefined;
    /** A read of the sign-outs that failed (the last state is kept). */
    onStoreError?: ((err: unknown) => void) | undefined;
    /** A membership check the provider or the store did not answer (the last answer holds). */
    onCheckError?: ((err: unknown) => void) | undefined;
    /** The configured public URL; without one the gateway's own URL is used, which only a loopback binding may do. */
    configured: string | undefined;
    host: string;
    /** The keys and teams (a person's teams by group, for the dashboard's roles). */
    keys: KeyStore;
  },
): Promise<{
  group: RouteGroup;
  tokens: TokenIssuer;
  revocations: RevocationCache;
  dashboard: ReturnType<typeof dashboardLogin>;
}> {
  needsFor(deps);
  const store = deps.store!;
  const idp = await connectIdentityProvider(config.oidc).catch((err: unknown) => {
    const problem = `identity: the identity provider ${config.oidc.issuer} could not be read: ${String(err)}`;
    const fix = 'Check oidc.issuer (its /.well-known/openid-configuration must answer) and the network to it.';
    throw Object.assign(new Error(problem), { fix });
  });
  const secrets = secretsOf(config.session);
  const revocations = createRevocationCache(store, deps.clock, (err) => deps.onStoreError?.(err));
  await revocations.ready;
  // Where the store tells of changes (PostgreSQL's NOTIFY), a sign-out on another replica holds here at once.
  store.watch?.(() => void revocations.refresh());
  const membership = createMembershipCheck({
    store,
    idp,
    secrets,
    revocations,
    now: deps.clock,
    onError: deps.onCheckError,
  });
  const tokens = createTokenIssuer({
    revoked: revocations.revoked,
    vet: (t) => membership.check(t),
    secrets,
    issuer: () => deps.publicUrl().replace(/\/+$/, ''),
    audience: config.oidc.clientId,
    ttlMs: config.session.ttlHours * 3_600_000,
    now: deps.clock,
  });
  const common = { store, idp, config, revocations, publicUrl: deps.publicUrl, now: deps.clock };
  const dashboard = dashboardLogin(Object.assign({ keys: deps.keys, membership }, common));
  const group = createSignInGroup(
    Object.assign({ tokens, onRelayFailure: deps.onRelayFailure, dashboardCallback: dashboard.callback }, common),
  );
  group.routes.push(...dashboard.routes, protocolRoute(config, deps.publicUrl));
  return { group, tokens, revocations, dashboard };
}

/**
 * The gateway's keys and route groups with sign-in, when it is configured (else its keys as they are). Without a
 * configured public URL the gateway's own URL is used once it listens. A failure runs `onFail` (closing what the
 * gateway opened before it) and is thrown.
 */
export async function signInFor(
  options: {
    identity?: IdentityConfig | undefined;
    publicUrl?: string | undefined;
    host?: string | undefined;
    timeZone?: string | undefined;
  },
  deps: {
    control: {
      store?: ControlStore | undefined;
      admin?: Pick<AdminDeps, 'signedOut' | 'session'> | undefined;
      close(): Promise<void>;
    };
    clock: () => number;
    keys: KeyStore;
    /** Failures off the answer path (a relay destination, a read of the sign-outs), for the log. */
    warn: (fields: Record<string, unknown>, message: string) => void;
  },
): Promise<{ keys: KeyStore; groups: RouteGroup[]; bound(url: string): void; close(): void }> {
  let publicUrl = options.publicUrl;
  const bound = (url: string) => void (publicUrl ??= url);
  if (!options.identity) return { keys: deps.keys, groups: [], bound, close: () => undefined };
  try {
    const opened = await openIdentity(options.identity, {
      store: deps.control.store,
      clock: deps.clock,
      publicUrl: () => publicUrl ?? '',
      configured: options.publicUrl,
      host: options.host ?? '127.0.0.1',
      keys: deps.keys,
      onRelayFailure: (destination, err) => deps.warn({ err, destination }, 'telemetry relay: a destination failed'),
      onStoreError: (err) => deps.warn({ err }, 'sign-in: the sign-outs could not be read; the last ones read hold'),
      onCheckError: (err) =>
        deps.warn({ err }, 'sign-in: a person could not be checked at the identity provider; the last answer holds'),
    });
    // The admin API's sign-out takes effect on this replica before its answer.
    if (deps.control.admin) {
      deps.control.admin.signedOut = opened.revocations.refresh;
      deps.control.admin.session = opened.dashboard.principal;
    }
    const keyOf = createPersonKeys(deps.keys, options.identity);
    const usage = usageGroup({
      tokens: opened.tokens,
      keyOf,
      team: (name) => deps.keys.team?.(name),
      store: deps.control.store!,
      timeZone: options.timeZone ?? 'UTC',
      now: deps.clock,
    });
    return {
      keys: withSignedInPeople(deps.keys, opened.tokens, keyOf),
      groups: [opened.group, usage],
      bound,
      close: opened.revocations.close,
    };
  } catch (err) {
    await deps.control.close();
    throw err;
  }
}

/** The sign-in endpoints as one route group, errors in OAuth's shape. */
function createSignInGroup(deps: SignInDeps): RouteGroup {
  return {
    name: 'sign-in',
    metered: false,
    routes: [
      ...oauthRoutes(deps),
      ...verificationRoutes(deps),
      ...managedRoutes(deps),
      ...relayRoutes({
        telemetry: deps.config.telemetry,
        person: (ctx) => bearerPerson(ctx, deps.tokens),
        invalid: invalidToken,
        onFailure: deps.onRelayFailure ?? (() => undefined),
      }),
    ],
    encodeError: (_ctx, err: BedrockClaudeError) =>
      oauthReply(err.status >= 500 ? 503 : err.status, {
        error: err.status >= 500 ? 'temporarily_unavailable' : 'invalid_request',
      }),
  };
}
