import { invalidRequest } from '../errors.js';
import type { Catalog, GeoPrefix, ModelEntry, ProfilePrefix } from './catalog.js';
import { parseModelInput } from './model-input.js';
import { regionToGeo } from './regions.js';

/**
 * Where an application inference profile may send a request: anywhere (copied from a `global.`
 * profile), one geography (from a geo profile), or its own region (from a foundation model).
 */
export type ProfileReach = { kind: 'global' } | { kind: 'geo'; geo: GeoPrefix } | { kind: 'in-region'; region: string };

/** An application inference profile as the gateway knows it: the model it calls and its reach. */
export interface ApplicationProfile {
  /** The foundation model it calls (a bare Bedrock ID). */
  modelId: string;
  reach: ProfileReach;
  /** Where this was learnt: the config file, or Bedrock's `GetInferenceProfile`. */
  from: 'config' | 'bedrock';
}

/** An application inference profile ARN (`arn:aws:bedrock:REGION:ACCOUNT:application-inference-profile/ID`). */
export const APPLICATION_PROFILE_ARN =
  /^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:\d{12}:application-inference-profile\/[a-z0-9]+$/;

/**
 * A config entry: the system profile or foundation model an application profile was made from
 * (`us.anthropic.claude-sonnet-4-5-20250929-v1:0`, `global.anthropic...`, or a bare model ID, whose
 * reach is the ARN's region). Throws an `Error` that says what is wrong (start-up refuses it).
 */
export function profileFromSource(arn: string, source: string, catalog: Catalog): ApplicationProfile {
  if (!APPLICATION_PROFILE_ARN.test(arn))
    throw new Error(`applicationProfiles: "${arn.slice(0, 200)}" is not an application inference profile ARN`);
  const region = arn.split(':')[3]!;
  const parsed = parseModelInput(source);
  const base = parsed.kind === 'profile-id' ? parsed.base! : source;
  const modelId = catalog.find(base)?.bedrockId;
  if (!modelId)
    throw new Error(`applicationProfiles: "${source.slice(0, 200)}" (for ${arn}) is not a model ID or profile ID`);
  if (parsed.kind !== 'profile-id') return { modelId, reach: { kind: 'in-region', region }, from: 'config' };
  if (parsed.prefix === 'global') return { modelId, reach: { kind: 'global' }, from: 'config' };
  if (!Object.hasOwn(catalog.data.geos, parsed.prefix!))
    throw new Error(`applicationProfiles: "${source.slice(0, 200)}" has no geography the catalog knows`);
  return { modelId, reach: { kind: 'geo', geo: parsed.prefix as GeoPrefix }, from: 'config' };
}

/**
 * Bedrock's `GetInferenceProfile` answer for an application profile: its `models` are one
 * foundation-model ARN per region it may route to. One model, one region: in-region; one
 * geography: geo; more: global. `undefined` when the answer names no model or several.
 */
export function profileFromBedrock(answer: unknown, catalog: Catalog): ApplicationProfile | undefined {
  const models = (answer as { models?: unknown } | undefined)?.models;
  if (!Array.isArray(models) || models.length === 0) return undefined;
  const regions = new Set<string>();
  const ids = new Set<string>();
  for (const m of models) {
    const arn = (m as { modelArn?: unknown } | undefined)?.modelArn;
    const match =
      typeof arn === 'string' ? /^arn:aws[a-z-]*:bedrock:([a-z0-9-]+):\d*:foundation-model\/(.+)$/.exec(arn) : null;
    if (!match) return undefined;
    regions.add(match[1]!);
    ids.add(match[2]!);
  }
  const modelId = ids.size === 1 ? catalog.find([...ids][0]!)?.bedrockId : undefined;
  if (!modelId) return undefined;
  const geos = new Set([...regions].map((r) => regionToGeo(r, catalog)));
  const reach: ProfileReach =
    regions.size === 1
      ? { kind: 'in-region', region: [...regions][0]! }
      : geos.size === 1 && !geos.has(undefined)
        ? { kind: 'geo', geo: [...geos][0]! }
        : { kind: 'global' };
  return { modelId, reach, from: 'bedrock' };
}

/** Whether a profile of this reach keeps data where the scope says (global: anywhere). */
function stays(reach: ProfileReach, scope: 'global' | 'geo' | 'in-region', region: string, catalog: Catalog): boolean {
  if (scope === 'global') return true;
  const home = regionToGeo(region, catalog);
  if (reach.kind === 'geo') return scope === 'geo' && reach.geo === home;
  if (reach.kind === 'in-region')
    return scope === 'geo' ? regionToGeo(reach.region, catalog) === home : reach.region === region;
  return false;
}

/**
 * An application profile held to the scope like the system profile it was made from, and the
 * profile prefix and scope it is priced as (global, or geo / in-region with the regional premium).
 */
export function judgeReach(
  profile: ApplicationProfile,
  model: ModelEntry | undefined,
  at: { trimmed: string; region: string; scope: 'global' | 'geo' | 'in-region'; catalog: Catalog },
): { prefix: ProfilePrefix | undefined; scope: 'global' | 'geo' | 'in-region' } {
  const reach = profile.reach;
  if (!stays(reach, at.scope, at.region, at.catalog)) {
    const where =
      reach.kind === 'global'
        ? 'any commercial region'
        : reach.kind === 'geo'
          ? `the ${reach.geo} geography`
          : reach.region;
    const home = at.scope === 'in-region' ? at.region : (regionToGeo(at.region, at.catalog) ?? at.region);
    throw invalidRequest(
      `${at.trimmed} is an application inference profile of ${model?.displayName ?? profile.modelId} that routes to ` +
        `${where}; the scope "${at.scope}" keeps data in ${home}.`,
      'Call an application or system profile of this geography instead, or run with scope global if the data may ' +
        'leave it.',
    );
  }
  if (reach.kind === 'global') return { prefix: 'global', scope: 'global' };
  return reach.kind === 'geo' ? { prefix: reach.geo, scope: 'geo' } : { prefix: undefined, scope: 'in-region' };
}

/** An application profile ARN whose reach is not known: refused where the scope must show where data goes. */
export function refuseUnknownReach(at: { trimmed: string; region: string; scope: string; catalog: Catalog }): void {
  if (at.scope === 'global') return;
  const home = regionToGeo(at.region, at.catalog) ?? at.region;
  throw invalidRequest(
    `${at.trimmed} is an application inference profile, which may route to any region its source profile ` +
      `covers; with scope "${at.scope}" the gateway cannot show that the data stays in ${home}.`,
    'Name its source in the config (applicationProfiles: {ARN: "eu.anthropic..."}), let the gateway read it ' +
      '(bedrock:GetInferenceProfile), call a system-defined profile of this geography instead, or run with scope ' +
      'global if the data may leave it.',
  );
}
