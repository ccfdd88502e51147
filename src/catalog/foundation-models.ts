import type { Catalog, ModelEntry } from './catalog.js';
import { globalAllowedFrom, regionToGeo } from './regions.js';

/** One entry of Bedrock's `ListFoundationModels` answer (and `GetFoundationModel`'s `modelDetails`). */
export interface FoundationModelSummary {
  modelArn: string;
  modelId: string;
  modelName: string;
  providerName: 'Anthropic';
  inputModalities: string[];
  outputModalities: string[];
  responseStreamingSupported: boolean;
  customizationsSupported: string[];
  /**
   * `ON_DEMAND` when the bare ID is invoked on demand in the region, `INFERENCE_PROFILE` when only a profile calls it.
   */
  inferenceTypesSupported: string[];
  modelLifecycle: { status: 'ACTIVE' | 'LEGACY'; endOfLifeTime?: string };
}

/** Whether a model can be called from a region at all: on demand there, or through a profile callable from there. */
export function offeredIn(model: ModelEntry, region: string, catalog: Catalog): boolean {
  if (model.lifecycle.status === 'retired') return false;
  if (model.onDemandInRegion && (!model.regions || model.regions.includes(region))) return true;
  const geo = regionToGeo(region, catalog);
  return model.profiles.some((p) => (p === 'global' ? globalAllowedFrom(region, catalog) : p === geo));
}

/** A catalog model as Bedrock describes it in a region. */
export function foundationModelSummary(model: ModelEntry, region: string): FoundationModelSummary {
  const onDemand = model.onDemandInRegion && (!model.regions || model.regions.includes(region));
  const lifecycle: FoundationModelSummary['modelLifecycle'] = {
    status: model.lifecycle.status === 'active' ? 'ACTIVE' : 'LEGACY',
  };
  if (model.lifecycle.retiresOn) lifecycle.endOfLifeTime = `${model.lifecycle.retiresOn}T00:00:00Z`;
  return {
    modelArn: `arn:aws:bedrock:${region}::foundation-model/${model.bedrockId}`,
    modelId: model.bedrockId,
    modelName: model.displayName,
    providerName: 'Anthropic',
    inputModalities: ['TEXT', 'IMAGE'],
    outputModalities: ['TEXT'],
    responseStreamingSupported: true,
    customizationsSupported: [],
    inferenceTypesSupported: onDemand ? ['ON_DEMAND', 'INFERENCE_PROFILE'] : ['INFERENCE_PROFILE'],
    modelLifecycle: lifecycle,
  };
}

/**
 * The models a region offers, as `ListFoundationModels` lists them (`byInferenceType` filters on
 * `ON_DEMAND` or `PROVISIONED`/`INFERENCE_PROFILE`; `byProvider` on the provider's name).
 */
export function foundationModels(
  region: string,
  catalog: Catalog,
  filters: { byProvider?: string | null; byInferenceType?: string | null } = {},
): FoundationModelSummary[] {
  if (filters.byProvider && filters.byProvider.toLowerCase() !== 'anthropic') return [];
  return catalog.models
    .filter((m) => offeredIn(m, region, catalog))
    .map((m) => foundationModelSummary(m, region))
    .filter((s) => !filters.byInferenceType || s.inferenceTypesSupported.includes(filters.byInferenceType));
}
