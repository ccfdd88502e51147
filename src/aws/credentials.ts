import { fromIni, fromNodeProviderChain } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { BedrockClaudeError } from '../errors.js';
import { nonEmpty } from './env-region.js';

export interface CredentialOptions {
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  sessionToken?: string | undefined;
  /** A named profile from ~/.aws/config and ~/.aws/credentials. */
  profile?: string | undefined;
  /** Any AWS SDK credential provider (tests inject short-lived ones here). */
  provider?: AwsCredentialIdentityProvider | undefined;
  /** Refresh this long before expiry (default 5 minutes, at most half the credentials' lifetime). */
  refreshBeforeMs?: number | undefined;
  /** Clock, for tests. */
  now?: (() => number) | undefined;
}

/** Credentials resolved once, cached, and refreshed before they expire. */
export interface CredentialCache {
  get(): Promise<AwsCredentialIdentity>;
  /** Where they come from (`static`, `profile:dev`, `default chain`), never the secret. */
  readonly source: string;
}

/** Where credentials come from: a custom provider, static keys, a profile, or the default chain. */
function pickProvider(options: CredentialOptions): { provider: AwsCredentialIdentityProvider; source: string } {
  if (options.provider) return { provider: options.provider, source: 'custom provider' };
  if (options.accessKeyId && options.secretAccessKey) {
    const fixed: AwsCredentialIdentity = {
      accessKeyId: options.accessKeyId,
      secretAccessKey: options.secretAccessKey,
      ...(options.sessionToken ? { sessionToken: options.sessionToken } : {}),
    };
    return { provider: () => Promise.resolve(fixed), source: 'static keys' };
  }
  if (options.profile) return { provider: fromIni({ profile: options.profile }), source: `profile ${options.profile}` };
  return { provider: fromNodeProviderChain(), source: 'default credential chain' };
}

/**
 * Resolves AWS credentials once and keeps them fresh: a call near expiry starts a refresh in the
 * background and still answers with the current credentials; a call after expiry waits for the
 * refresh. Concurrent callers share one refresh. So expiring credentials never need a restart.
 *
 * @example
 * ```ts
 * const creds = createCredentialCache({ profile: 'dev' });
 * const { accessKeyId } = await creds.get();
 * ```
 */
export function createCredentialCache(options: CredentialOptions = {}): CredentialCache {
  const now = options.now ?? Date.now;
  const { provider, source } = pickProvider(options);
  const usingChain = source === 'default credential chain';

  let current: AwsCredentialIdentity | undefined;
  let fetchedAt = 0;
  let inflight: Promise<AwsCredentialIdentity> | undefined;

  const refresh = (): Promise<AwsCredentialIdentity> => {
    inflight ??= provider()
      .then((c) => {
        current = c;
        fetchedAt = now();
        return c;
      })
      .catch(async (err: unknown) => {
        const why = usingChain ? await chainFailure(err) : ((err as Error)?.message ?? String(err));
        throw new BedrockClaudeError(`Could not load AWS credentials from the ${source}: ${why}`, {
          status: 500,
          type: 'api_error',
          fix:
            'Configure credentials (AWS_PROFILE, aws sso login, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, an ' +
            'instance role) or a Bedrock API key (AWS_BEARER_TOKEN_BEDROCK). `bedrock-claude doctor` shows what ' +
            'was found.',
          cause: err,
        });
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  };

  return {
    source,
    async get() {
      if (!current) return refresh();
      const expiry = current.expiration?.getTime();
      if (expiry === undefined) return current;
      const remaining = expiry - now();
      if (remaining <= 1000) return refresh();
      // Short-lived credentials refresh in the second half of their life, not on every call.
      const margin = Math.min(options.refreshBeforeMs ?? 5 * 60_000, (expiry - fetchedAt) / 2);
      if (remaining <= margin) {
        // Still valid: answer now, refresh behind the caller's back.
        refresh().catch(() => undefined);
      }
      return current;
    },
  };
}

/**
 * The default chain's own error says only "Could not load credentials from any providers". When
 * AWS_PROFILE names the profile it should have used, that profile's own reason is the useful one
 * ("Could not resolve credentials using profile: [dev] ..."): it is asked once more, for its words.
 */
async function chainFailure(err: unknown): Promise<string> {
  const message = (err as Error)?.message ?? String(err);
  const profile = nonEmpty(process.env['AWS_PROFILE']);
  if (!profile) return message;
  const reason = await fromIni({ profile })().then(
    () => undefined,
    (e: unknown) => (e as Error)?.message,
  );
  return reason ? `${message} (AWS_PROFILE is "${profile}": ${reason})` : message;
}

/** How requests to Bedrock are authenticated. */
export type BedrockAuth = { kind: 'bearer'; token: string } | { kind: 'sigv4'; credentials: CredentialCache };

/**
 * Picks the authentication as the official SDKs do: an explicit Bedrock API key, then
 * `AWS_BEARER_TOKEN_BEDROCK`, then SigV4 with explicit keys, a profile or the default chain.
 */
export function resolveBedrockAuth(
  options: CredentialOptions & {
    apiKey?: string | undefined;
    env?: Record<string, string | undefined> | undefined;
  } = {},
): BedrockAuth {
  const env = options.env ?? process.env;
  const token = options.apiKey ?? env['AWS_BEARER_TOKEN_BEDROCK'];
  if (token) return { kind: 'bearer', token };
  return { kind: 'sigv4', credentials: createCredentialCache(options) };
}
