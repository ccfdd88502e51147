import type { Catalog, ModelEntry } from '../catalog/catalog.js';
import { foundationModels, foundationModelSummary, offeredIn } from '../catalog/foundation-models.js';
import { systemInferenceProfiles } from '../catalog/inference-profiles.js';
import { findModelForId } from '../catalog/resolve-model.js';
import { BedrockClaudeError } from '../errors.js';
import { bedrockError, modelIdFromSegment } from '../server/fronts/bedrock.js';
import type { RouteGroup } from '../server/fronts/front.js';
import { jsonReply } from '../server/fronts/replies.js';
import type { Ctx, Reply } from '../server/pipeline.js';

function notFound(what: string): BedrockClaudeError {
  return new BedrockClaudeError(what, {
    status: 404,
    type: 'not_found_error',
    bedrockType: 'ResourceNotFoundException',
  });
}

/** Which models the account may call: all but the ones the emulator is told are not enabled. */
export function accessChecker(catalog: Catalog, notEnabled: readonly string[] = []) {
  const off = new Set(notEnabled.map((n) => (catalog.find(n) ?? findModelForId(n, catalog))?.name ?? n));
  return (model: ModelEntry | undefined): boolean => !model || !off.has(model.name);
}

/**
 * Bedrock's control plane for the catalog (`bedrock.{region}.amazonaws.com`), as the emulator serves
 * it from its catalog, per region (the signature's): `ListFoundationModels`, `GetFoundationModel`,
 * `GetInferenceProfile` (`ListInferenceProfiles` is the Bedrock front's) and
 * `GetFoundationModelAvailability`, which says whether the account has access (see `notEnabled`).
 */
interface PlaneDeps {
  catalog: Catalog;
  region: string;
  account: string;
  allowed: (model: ModelEntry | undefined) => boolean;
  /** Application inference profiles: ID → the system profile or model ID it was made from. */
  applicationProfiles?: Record<string, string>;
}

export function createControlPlaneGroup(deps: PlaneDeps): RouteGroup {
  const serve =
    (fn: (ctx: Ctx, deps: PlaneDeps) => unknown) =>
    (ctx: Ctx): Reply =>
      jsonReply(200, fn(ctx, deps), Object.assign({}, ctx.headers, { 'x-amzn-requestid': ctx.id }));
  return {
    name: 'bedrock-control-plane',
    metered: false,
    routes: [
      { method: 'GET', path: '/foundation-models', serve: serve(listFoundationModels) },
      {
        method: 'GET',
        path: '/foundation-models/{modelIdentifier}',
        serve: serve((ctx) => ({ modelDetails: foundationModelSummary(model(ctx, deps), regionOf(ctx, deps)) })),
      },
      { method: 'GET', path: '/foundation-model-availability/{modelId}', serve: serve(availability) },
      {
        method: 'GET',
        path: '/inference-profiles/{inferenceProfileIdentifier}',
        serve: serve(getInferenceProfile),
      },
    ],
    encodeError: (ctx, err) => bedrockError(ctx, err, true),
  };
}

const regionOf = (ctx: Ctx, deps: PlaneDeps) => ctx.region ?? deps.region;

function model(ctx: Ctx, deps: PlaneDeps): ModelEntry {
  const id = modelIdFromSegment(ctx.params[0]!);
  const base = id.replace(/^arn:aws[a-z-]*:bedrock:[^:]*::foundation-model\//, '');
  const found = findModelForId(base, deps.catalog);
  if (!found || found.bedrockId !== base || !offeredIn(found, regionOf(ctx, deps), deps.catalog))
    throw notFound(`Could not resolve the foundation model from model identifier: ${id}.`);
  return found;
}

function listFoundationModels(ctx: Ctx, deps: PlaneDeps) {
  const query = new URL(ctx.req.url, 'http://x').searchParams;
  return {
    modelSummaries: foundationModels(regionOf(ctx, deps), deps.catalog, {
      byProvider: query.get('byProvider'),
      byInferenceType: query.get('byInferenceType'),
    }),
  };
}

function availability(ctx: Ctx, deps: PlaneDeps) {
  const m = model(ctx, deps);
  const ok = deps.allowed(m);
  return {
    modelId: m.bedrockId,
    agreementAvailability: { status: ok ? 'AVAILABLE' : 'NOT_AVAILABLE' },
    authorizationStatus: ok ? 'AUTHORIZED' : 'NOT_AUTHORIZED',
    entitlementAvailability: ok ? 'AVAILABLE' : 'NOT_AVAILABLE',
    regionAvailability: 'AVAILABLE',
  };
}

function getInferenceProfile(ctx: Ctx, deps: PlaneDeps) {
  const id = modelIdFromSegment(ctx.params[0]!);
  const region = regionOf(ctx, deps);
  const profile = systemInferenceProfiles(region, deps.catalog, deps.account).find(
    (p) => p.inferenceProfileId === id || p.inferenceProfileArn === id,
  );
  if (profile) return profile;
  const application = applicationProfile(id, region, deps);
  if (!application) throw notFound(`The inference profile ${id} does not exist in ${region}.`);
  return application;
}

/** Regions a profile of each reach routes to, as the emulator tells it (a few of each geography's). */
const REGIONS_OF: Record<string, string[]> = {
  global: ['us-east-1', 'us-west-2', 'eu-west-1', 'ap-northeast-1'],
  us: ['us-east-1', 'us-east-2', 'us-west-2'],
  eu: ['eu-central-1', 'eu-west-1', 'eu-west-3'],
  jp: ['ap-northeast-1', 'ap-northeast-3'],
  au: ['ap-southeast-2', 'ap-southeast-4'],
  apac: ['ap-south-1', 'ap-southeast-1', 'ap-northeast-2'],
};

/** An application profile of the account, as `GetInferenceProfile` answers for it: one model ARN per region. */
function applicationProfile(idOrArn: string, region: string, deps: PlaneDeps) {
  const id = idOrArn.replace(/^arn:aws[a-z-]*:bedrock:[^:]*:\d*:application-inference-profile\//, '');
  const source =
    deps.applicationProfiles && Object.hasOwn(deps.applicationProfiles, id) ? deps.applicationProfiles[id] : undefined;
  if (!source) return undefined;
  const prefix = /^([a-z]+)\.anthropic\./.exec(source)?.[1];
  const base = prefix ? source.slice(prefix.length + 1) : source;
  const regions = prefix ? (REGIONS_OF[prefix] ?? [region]) : [region];
  const arn = `arn:aws:bedrock:${region}:${deps.account}:application-inference-profile/${id}`;
  return {
    inferenceProfileName: id,
    description: `Made from ${source}`,
    createdAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:00:00Z',
    inferenceProfileArn: arn,
    models: regions.map((r) => ({ modelArn: `arn:aws:bedrock:${r}::foundation-model/${base}` })),
    inferenceProfileId: id,
    status: 'ACTIVE',
    type: 'APPLICATION',
  };
}
