/**
 * A real OpenID Connect provider on 127.0.0.1 (`oidc-provider`), for the sign-in tests: users in groups, one from a
 * domain the gateway refuses, a login that a test decides (who signs in next), consent granted, refresh tokens.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import type { RunningGateway } from '../../src/server/gateway.js';
import { gatewayOn } from '../helpers.js';

export interface IdpUser {
  email: string;
  name: string;
  groups: string[];
  emailVerified?: boolean;
}

export interface RunningIdp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  users: Map<string, IdpUser>;
  /** Who the next login is (the test plays the person at the provider's login page). */
  signInAs(sub: string): void;
  close(): Promise<void>;
}

export const USERS: Record<string, IdpUser> = {
  'u-alice': { email: 'alice@example.com', name: 'Alice Admin', groups: ['engineering', 'claude-admins'] },
  'u-bob': { email: 'bob@example.com', name: 'Bob Builder', groups: ['contractors'] },
  'u-carol': { email: 'carol@other.test', name: 'Carol Other', groups: ['engineering'] },
};

/** Starts the provider; `redirectUri` is the gateway's callback (its port reserved before it starts). */
export async function startIdp(redirectUri: string): Promise<RunningIdp> {
  const users = new Map(Object.entries(USERS).map(([k, v]) => [k, Object.assign({}, v)]));
  let next = 'u-alice';
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = 'bedrock-claude-test';
  const clientSecret = 'test-client-secret-0123456789abcdef';
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'groups'] },
    scopes: ['openid', 'offline_access', 'email', 'profile'],
    features: { devInteractions: { enabled: false } },
    issueRefreshToken: async () => true,
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: { keys: ['test-cookie-key-0123456789abcdef'] },
    findAccount: async (_ctx, sub) => {
      const user = users.get(sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        claims: async () => ({
          sub,
          email: user.email,
          email_verified: user.emailVerified ?? true,
          name: user.name,
          groups: user.groups,
        }),
      };
    },
  });
  provider.proxy = false;
  const callback = provider.callback();
  server.on('request', (req, res) => {
    const m = /^\/interaction\/([^/?]+)/.exec(req.url ?? '');
    if (!m) return void callback(req, res);
    // The person at the login page: whoever the test said, consenting to what the gateway asked.
    void (async () => {
      const details = await provider.interactionDetails(req, res);
      const grant = new provider.Grant({ accountId: next, clientId: String(details.params['client_id']) });
      grant.addOIDCScope(String(details.params['scope']));
      const grantId = await grant.save();
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: next }, consent: { grantId } },
        {
          mergeWithLastSubmission: false,
        },
      );
    })().catch((err: unknown) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  });
  return {
    issuer,
    clientId,
    clientSecret,
    users,
    signInAs: (sub) => void (next = sub),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A free port on 127.0.0.1 (for a gateway whose callback URL the provider must know first). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** The gateway's `identity.oidc` for this provider, with the defaults written out (what the config schema fills in). */
export function oidcConfigFor(idp: RunningIdp, extra: { allowedEmailDomains?: string[] } = {}) {
  return Object.assign(
    {
      issuer: idp.issuer,
      clientId: idp.clientId,
      clientSecret: idp.clientSecret,
      scopes: ['openid', 'profile', 'email', 'offline_access'],
      emailClaim: 'email',
      groupsClaim: 'groups',
      usePkce: true,
    },
    extra,
  );
}

/**
 * The emulator, a provider and a gateway with sign-in on the provider (its callback on a port reserved first):
 * `identity` is added to the provider's OIDC settings and a test secret; `extra` goes to the gateway as it is.
 */
export async function startSignInGateway(
  identity: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
  oidc: { allowedEmailDomains?: string[] } = {},
): Promise<{ emu: RunningEmulator; idp: RunningIdp; gw: RunningGateway; close(): Promise<void> }> {
  const emu = await startEmulator({ port: 0 });
  const port = await freePort();
  const idp = await startIdp(`http://127.0.0.1:${port}/oauth/callback`);
  const session = { jwtSecret: 'a-test-jwt-secret-of-more-than-32-characters', ttlHours: 1 };
  const gw = await gatewayOn(
    emu.url,
    Object.assign({ port, identity: Object.assign({ oidc: oidcConfigFor(idp, oidc), session }, identity) }, extra),
  );
  return {
    emu,
    idp,
    gw,
    async close() {
      await gw.close(100);
      await idp.close();
      await emu.close();
    },
  };
}
