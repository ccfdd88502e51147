import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Names where AWS credentials would come from, without loading them or touching the network
 * (no instance-metadata probe): env keys, a Bedrock API key, a profile, shared files, SSO/web
 * identity, a container endpoint. `undefined` when nothing is configured.
 */
export function detectCredentialSource(env: Record<string, string | undefined> = process.env): string | undefined {
  if (env['AWS_BEARER_TOKEN_BEDROCK']) return 'Bedrock API key (AWS_BEARER_TOKEN_BEDROCK)';
  if (env['AWS_ACCESS_KEY_ID'] && env['AWS_SECRET_ACCESS_KEY']) return 'environment (AWS_ACCESS_KEY_ID)';
  if (env['AWS_PROFILE']) return `profile ${env['AWS_PROFILE']} (AWS_PROFILE)`;
  if (env['AWS_WEB_IDENTITY_TOKEN_FILE']) return 'web identity (AWS_WEB_IDENTITY_TOKEN_FILE)';
  if (env['AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'] || env['AWS_CONTAINER_CREDENTIALS_FULL_URI'])
    return 'container credentials endpoint';
  const home = env['HOME'] ?? homedir();
  const files = [
    env['AWS_SHARED_CREDENTIALS_FILE'] ?? join(home, '.aws', 'credentials'),
    env['AWS_CONFIG_FILE'] ?? join(home, '.aws', 'config'),
  ];
  const found = files.find((f) => existsSync(f));
  return found ? `shared config (${found})` : undefined;
}
