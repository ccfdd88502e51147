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
export function createControlPlaneGroup(deps: {
  catalog: Catalog;
  region: string;
  account: string;
  allowed: (model: ModelEntry | undefined) => boolean;
}): RouteGroup {
  const { catalog, account } = deps;
  const headers = (ctx: Ctx) => Object.assign({}, ctx.headers, { 'x-amzn-requestid': ctx.id });
  const regionOf = (ctx: Ctx) => ctx.region ?? deps.region;
  const query = (ctx: Ctx) => new URL(ctx.req.url, 'http://x').searchParams;

  function model(ctx: Ctx): ModelEntry {
    const id = modelIdFromSegment(ctx.params[0]!);
    const base = id.replace(/^arn:aws[a-z-]*:bedrock:[^:]*::foundation-model\//, '');
    const found = findModelForId(base, catalog);
    if (!found || found.bedrockId !== base || !offeredIn(found, regionOf(ctx), catalog))
      throw notFound(`Could not resolve the foundation model from model identifier: ${id}.`);
    return found;
  }

  const serve =
    (fn: (ctx: Ctx) => unknown) =>
    (ctx: Ctx): Reply =>
      jsonReply(200, fn(ctx), headers(ctx));
  return {
    name: 'bedrock-control-plane',
    metered: false,
    routes: [
      {
        method: 'GET',
        path: '/foundation-models',
        serve: serve((ctx) => ({
          modelSummaries: foundationModels(regionOf(ctx), catalog, {
            byProvider: query(ctx).get('byProvider'),
            byInferenceType: query(ctx).get('byInferenceType'),
          }),
        })),
      },
      {
        method: 'GET',
        path: '/foundation-models/{modelIdentifier}',
        serve: serve((ctx) => ({ modelDetails: foundationModelSummary(model(ctx), regionOf(ctx)) })),
      },
      {
        method: 'GET',
        path: '/foundation-model-availability/{modelId}',
        serve: serve((ctx) => {
          const m = model(ctx);
          const ok = deps.allowed(m);
          return {
            modelId: m.bedrockId,
            agreementAvailability: { status: ok ? 'AVAILABLE' : 'NOT_AVAILABLE' },
            authorizationStatus: ok ? 'AUTHORIZED' : 'NOT_AUTHORIZED',
            entitlementAvailability: ok ? 'AVAILABLE' : 'NOT_AVAILABLE',
            regionAvailability: 'AVAILABLE',
          };
        }),
      },
      {
        method: 'GET',
        path: '/inference-profiles/{inferenceProfileIdentifier}',
        serve: serve((ctx) => {
          const id = modelIdFromSegment(ctx.params[0]!);
          const profile = systemInferenceProfiles(regionOf(ctx), catalog, account).find(
            (p) => p.inferenceProfileId === id || p.inferenceProfileArn === id,
          );
          if (!profile) throw notFound(`The inference profile ${id} does not exist in ${regionOf(ctx)}.`);
          return profile;
        }),
      },
    ],
    encodeError: (ctx, err) => bedrockError(ctx, err, true),
  };
}
