import { homedir } from 'node:os';
import { join } from 'node:path';
import { loadSharedConfigFiles } from '@smithy/shared-ini-file-loader';
import { nonEmpty, regionEnvName } from '../aws/env-region.js';
import { BedrockClaudeError } from '../errors.js';
import { regionProblem } from '../aws/known-regions.js';

/** A region and where it came from (`--region`, `AWS_REGION`, `the profile "dev" in ~/.aws/config`). */
export interface RegionChoice {
  region: string;
  from: string;
}

/** The AWS profile a command reads (`--profile`, `AWS_PROFILE`, `default`) and its config file. */
const profileOf = (profile: string | undefined) => ({
  name: nonEmpty(profile) ?? nonEmpty(process.env['AWS_PROFILE']) ?? 'default',
  file: nonEmpty(process.env['AWS_CONFIG_FILE']) ?? join(homedir(), '.aws', 'config'),
});

/**
 * The region as the AWS CLI finds it: `--region`, then `AWS_REGION`, `AWS_DEFAULT_REGION`, then the profile's `region`
 * in the AWS config file (`--profile`, else `AWS_PROFILE`, else `default`; the file at `AWS_CONFIG_FILE`, else
 * `~/.aws/config`). Undefined when none says one.
 */
export async function findRegion(flag: string | undefined, profile?: string): Promise<RegionChoice | undefined> {
  const given = nonEmpty(flag);
  if (given) return { region: given, from: '--region' };
  const env = regionEnvName();
  if (env) return { region: nonEmpty(process.env[env])!, from: env };
  const { name, file } = profileOf(profile);
  const { configFile } = await loadSharedConfigFiles({ configFilepath: file, ignoreCache: true }).catch(() => ({
    configFile: {} as Record<string, Record<string, string | undefined>>,
  }));
  const region = nonEmpty(configFile[name]?.['region']);
  return region ? { region, from: `the profile "${name}" in ${file}` } : undefined;
}

/** The region a command needs, or a refusal that says where it looked and how to give one. */
export async function needRegion(flag: string | undefined, profile?: string): Promise<RegionChoice> {
  const found = await findRegion(flag, profile);
  const problem = found && regionProblem(found.region);
  if (problem)
    throw new BedrockClaudeError(`${problem} (from ${found.from}).`, {
      status: 400,
      type: 'invalid_request_error',
      fix: 'Use a region such as us-west-2, eu-west-1 or ap-northeast-1 (aws ec2 describe-regions lists them).',
    });
  if (found) return found;
  const { name, file } = profileOf(profile);
  throw new BedrockClaudeError(
    `No AWS region: Bedrock is regional. Looked at --region, AWS_REGION, AWS_DEFAULT_REGION and the profile ` +
      `"${name}" in ${file}.`,
    {
      status: 400,
      type: 'invalid_request_error',
      fix:
        'Pass --region us-west-2, export AWS_REGION=us-west-2, or set it in the profile: ' +
        'aws configure set region us-west-2',
    },
  );
}

/** `region: us-west-2 (from AWS_REGION)`, for stderr, when it did not come from the command line. */
export const regionNote = (r: RegionChoice): string | undefined =>
  r.from === '--region' ? undefined : `region ${r.region} (from ${r.from})`;
