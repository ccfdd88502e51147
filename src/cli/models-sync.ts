import type { BedrockAuth } from '../aws/credentials.js';
import { controlPlaneGet, priceListOffer } from '../aws/control-plane.js';
import type { Catalog, ModelEntry, ProfilePrefix, RegionPrices, TokenPrices } from '../catalog/catalog.js';
import { comparePrices, PRICE_LIST_SERVICE, readOffer, type PriceDifference } from '../catalog/price-list.js';
import { PROFILE_PREFIXES } from '../catalog/catalog.js';
import { findModelForId } from '../catalog/resolve-model.js';
import { BedrockClaudeError } from '../errors.js';

type Json = Record<string, unknown>;

/** What one region's control plane says of the account's Claude models. */
interface RegionView {
  models: Json[];
  profiles: Json[];
  access: Map<string, string>;
}

async function readRegion(region: string, auth: BedrockAuth, endpoint: string | undefined): Promise<RegionView> {
  const listed = await controlPlaneGet(region, auth, '/foundation-models?byProvider=anthropic', endpoint);
  const models = ((listed['modelSummaries'] as Json[] | undefined) ?? []).filter((m) =>
    String(m['modelId']).startsWith('anthropic.'),
  );
  const profiles: Json[] = [];
  let next: string | undefined;
  for (let page = 0; page < 50; page++) {
    const answer = await controlPlaneGet(
      region,
      auth,
      `/inference-profiles?type=SYSTEM_DEFINED&maxResults=1000${next ? `&nextToken=${encodeURIComponent(next)}` : ''}`,
      endpoint,
    );
    profiles.push(...((answer['inferenceProfileSummaries'] as Json[] | undefined) ?? []));
    next = answer['nextToken'] as string | undefined;
    if (!next) break;
  }
  const access = new Map<string, string>();
  for (const m of models) {
    try {
      const a = await controlPlaneGet(
        region,
        auth,
        `/foundation-model-availability/${encodeURIComponent(String(m['modelId']))}`,
        endpoint,
      );
      access.set(String(m['modelId']), String(a['authorizationStatus'] ?? 'UNKNOWN'));
    } catch {
      access.set(String(m['modelId']), 'UNKNOWN');
    }
  }
  return { models, profiles, access };
}

/**
 * A name for a model the package does not know, from its Bedrock ID (`anthropic.claude-foo-5-20270101-v1:0` →
 * `claude-foo-5`).
 */
function nameFor(bedrockId: string): string {
  return bedrockId
    .replace(/^anthropic\./, '')
    .replace(/-\d{8}/, '')
    .replace(/-v\d+(:\d+)?$/, '');
}

/** What the regions said about one model ID. */
interface Found {
  known: ModelEntry | undefined;
  summary: Json;
  profiles: Set<ProfilePrefix>;
  onDemand: Set<string>;
  access: Record<string, string>;
  legacy: Json | undefined;
}

type SyncedModel = Partial<ModelEntry> & { name: string };

/**
 * Asks the account's control plane in each region which Claude models it offers (ListFoundationModels,
 * ListInferenceProfiles, GetFoundationModelAvailability) and writes the catalog's models as a models
 * file (the format `--models` and the gateway config take): profiles, on-demand regions, lifecycle
 * and access as found; the package's prices and limits kept for models it knows; new models marked
 * `unconfirmed`, priced 0, with a note to fill their prices in.
 */
export async function syncModels(options: {
  regions: string[];
  auth: BedrockAuth;
  catalog: Catalog;
  endpoint?: string | undefined;
  today: string;
  /** Also read the AWS Price List's offers for the regions (its base URL: the public one, or an emulator). */
  prices?: { endpoint?: string | undefined } | undefined;
}): Promise<{ models: SyncedModel[]; differences?: PriceDifference[] }> {
  const byId = new Map<string, Found>();
  for (const region of options.regions) {
    addRegion(byId, region, await readRegion(region, options.auth, options.endpoint), options.catalog);
  }
  const models = [...byId.entries()].map(([id, e]) => modelFile(id, e, options.today));
  if (options.prices) {
    // Models the package does not know are matched by the name the control plane gave them.
    const named = [...options.catalog.models, ...models.filter((m) => m.displayName)] as ModelEntry[];
    const synced = await readPrices(options.regions, named, options.prices.endpoint);
    for (const m of models) applyPrices(m, synced[m.name], options.today, options.catalog.data.regionalPremium);
    return { models, differences: comparePrices(options.catalog, synced) };
  }
  if (!models.length)
    throw new BedrockClaudeError(`No Claude model is offered in ${options.regions.join(', ')}.`, {
      status: 404,
      type: 'not_found_error',
      fix: 'Check the regions, and that the credentials belong to the account you mean.',
    });
  return { models };
}

function addRegion(
  byId: Map<string, Found>,
  region: string,
  view: Awaited<ReturnType<typeof readRegion>>,
  catalog: Catalog,
): void {
  for (const m of view.models) {
    const id = String(m['modelId']);
    let entry = byId.get(id);
    if (!entry) {
      entry = {
        known: findModelForId(id, catalog),
        summary: m,
        profiles: new Set(),
        onDemand: new Set(),
        access: {},
        legacy: undefined,
      };
      byId.set(id, entry);
    }
    if ((m['inferenceTypesSupported'] as string[] | undefined)?.includes('ON_DEMAND')) entry.onDemand.add(region);
    entry.access[region] = view.access.get(id) ?? 'UNKNOWN';
    const lifecycle = m['modelLifecycle'] as Json | undefined;
    if (lifecycle?.['status'] === 'LEGACY') entry.legacy = lifecycle;
  }
  for (const p of view.profiles) {
    const [prefix, ...rest] = String(p['inferenceProfileId']).split('.');
    const entry = byId.get(rest.join('.'));
    if (entry && (PROFILE_PREFIXES as readonly string[]).includes(prefix!)) entry.profiles.add(prefix as ProfilePrefix);
  }
}

/** Each region's offer, read: model name → region → prices by routing. */
async function readPrices(regions: string[], models: readonly ModelEntry[], endpoint: string | undefined) {
  const out: Record<string, Record<string, RegionPrices>> = {};
  for (const region of regions) {
    const offer = await priceListOffer(PRICE_LIST_SERVICE, region, endpoint);
    for (const [name, prices] of Object.entries(readOffer(offer, models))) (out[name] ??= {})[region] = prices;
  }
  return out;
}

/**
 * A model's synced prices: per region in `regionPrices` (they win over the list prices there); a model the package
 * had no price for takes the first region's global prices (or its regional ones less the premium) as its list prices.
 */
function applyPrices(m: SyncedModel, synced: Record<string, RegionPrices> | undefined, today: string, premium: number) {
  if (!synced) return;
  m.regionPrices = synced;
  m.marks = Object.assign({}, m.marks, { pricing: 'C' as const });
  m.sources = [...(m.sources ?? []), `AWS Price List (${PRICE_LIST_SERVICE}), synced ${today}`];
  if (m.pricing?.input) return;
  const first = Object.values(synced)[0]!;
  const list = first.global ?? scaled(first.regional ?? {}, 1 / (1 + premium));
  if (list.input === undefined || list.output === undefined) return;
  m.pricing = Object.assign({ cacheWrite: list.input * 1.25, cacheRead: list.input * 0.1 }, list, {
    input: list.input,
    output: list.output,
  });
  m.notes = `Found by models sync on ${today}, priced from the AWS Price List: fill in its context window and limits.`;
}

function scaled(prices: Partial<TokenPrices>, factor: number): Partial<TokenPrices> {
  const out: Partial<TokenPrices> = {};
  for (const [k, v] of Object.entries(prices) as Array<[keyof TokenPrices, number]>)
    out[k] = Math.round(v * factor * 1e6) / 1e6;
  return out;
}

/** One model as the models file writes it: the package's entry (or a new one to price), updated. */
function modelFile(id: string, e: Found, today: string): SyncedModel {
  const out: SyncedModel = e.known
    ? Object.assign({}, e.known)
    : {
        name: nameFor(id),
        displayName: String(e.summary['modelName'] ?? id),
        bedrockId: id,
        aliases: [],
        pricing: { input: 0, output: 0, cacheWrite: 0, cacheRead: 0 },
        unconfirmed: true,
        notes: `Found by models sync on ${today}: fill in its prices, context window and output limit.`,
      };
  out.bedrockId = id;
  out.profiles = PROFILE_PREFIXES.filter((p) => e.profiles.has(p));
  // What the account's own control plane said is as sure as a fact gets.
  out.marks = Object.assign({}, out.marks, { id: 'C' as const, profiles: 'C' as const });
  out.sources = [...(out.sources ?? []), `Bedrock control plane (models sync), ${today}`];
  out.onDemandInRegion = e.onDemand.size > 0;
  if (e.onDemand.size) out.regions = [...e.onDemand];
  else delete out.regions;
  const end = e.legacy?.['endOfLifeTime'];
  out.lifecycle = e.legacy
    ? Object.assign({ status: 'deprecated' as const }, typeof end === 'string' ? { retiresOn: end.slice(0, 10) } : {})
    : { status: 'active' as const };
  out.access = e.access;
  return out;
}
