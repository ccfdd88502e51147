import { backendsOf, bareOnly, endpointInfo } from './backends.js';
import type { Backend, Catalog, GeoPrefix, ModelEntry, ProfilePrefix } from './catalog.js';
import { notOffered, onDemandNotSupported } from './model-suggestions.js';
import { globalAllowedFrom, regionToGeo } from './regions.js';

/**
 * `global` (default): any commercial region, no premium. `geo`: data stays in the region's geography (~10% premium).
 * `in-region`: bare ID, this region only.
 */
export type Scope = 'global' | 'geo' | 'in-region';
export const SCOPES: readonly Scope[] = ['global', 'geo', 'in-region'];

/**
 * The profile a known model is called through from `region` within `scope`: global, the region's geography, or none
 * (a bare ID in-region: on demand on bedrock-runtime, or on bedrock-mantle for a model served there).
 */
export function profileFor(
  model: ModelEntry,
  region: string,
  scope: Scope,
  catalog: Catalog,
): { prefix: ProfilePrefix | undefined; scope: Scope; notes: string[] } {
  const geo = regionToGeo(region, catalog);
  const notes: string[] = [];
  if (bareOnly(model)) return { prefix: undefined, scope: 'in-region', notes: [mantleNote(model)] };
  if (scope === 'global') {
    if (model.profiles.includes('global') && globalAllowedFrom(region, catalog))
      return { prefix: 'global', scope, notes };
    if (geo && model.profiles.includes(geo)) {
      notes.push(
        `${model.displayName} has no global profile callable from ${region}; using the ${geo}. geo profile instead ` +
          `(data stays in ${catalog.data.geos[geo].label}; ~${Math.round(catalog.data.regionalPremium * 100)}% ` +
          `regional premium).`,
      );
      return { prefix: geo, scope: 'geo', notes };
    }
    throw notOffered(model, region, scope, geo, catalog);
  }
  if (scope === 'geo') {
    if (geo && model.profiles.includes(geo)) return { prefix: geo, scope, notes };
    throw notOffered(model, region, scope, geo, catalog);
  }
  if (model.onDemandInRegion && (!model.regions || model.regions.includes(region)))
    return { prefix: undefined, scope, notes };
  if (backendsOf(model).includes('mantle')) {
    notes.push(mantleNote(model));
    return { prefix: undefined, scope, notes };
  }
  throw onDemandNotSupported(model.bedrockId, model, region, geo, catalog);
}

const mantleNote = (model: ModelEntry) =>
  `${model.displayName} is served in-region by bedrock-mantle, by its bare ID ${model.mantleId ?? model.bedrockId}.`;

interface Explained {
  prefix: ProfilePrefix | undefined;
  modelId: string;
  region: string;
  input: string;
  kind: string;
  model: ModelEntry | undefined;
  backend: Backend;
}

/** A sentence a person can read: what will be called, where and why. */
export function explain(resolved: Explained, catalog: Catalog): string {
  const { prefix, modelId, region } = resolved;
  const name = resolved.model?.displayName ?? resolved.input;
  const where = endpointInfo(resolved.backend, catalog)?.label ?? resolved.backend;
  const premium = `~${Math.round(catalog.data.regionalPremium * 100)}% regional premium`;
  if (resolved.kind === 'arn') return `${name}: ARN passed through as given; calls go to ${where} in ${region}.`;
  if (prefix === 'global')
    return (
      `${name} → ${modelId} on ${where}: global cross-region inference profile, called from ${region}, routed to ` +
      `any commercial region, no regional premium.`
    );
  if (prefix)
    return (
      `${name} → ${modelId} on ${where}: ${catalog.data.geos[prefix as GeoPrefix]?.label ?? prefix} geo inference ` +
      `profile, called from ${region}; data stays in that geography; ${premium}.`
    );
  return `${name} → ${modelId} on ${where}: bare model ID, in ${region} only; ${premium}.`;
}
