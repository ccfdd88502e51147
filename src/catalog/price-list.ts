import type { Catalog, ModelEntry, RegionPrices, TokenPrices } from './catalog.js';

/**
 * The AWS Price List for Bedrock's Claude models (service code `AmazonBedrockFoundationModels`), read and written.
 * Spellings are from secondary sources (bedrock-facts section 11: `servicename` "Claude Opus 4.7 (Amazon Bedrock
 * Edition)", `usagetype` `USE1-MP:USE1_input_tokens_global_standard-Units`); the cache kinds' spellings follow the same
 * pattern and are assumed. Prices are per unit: per token when the unit is `Units`, else per 1K or 1M tokens as the
 * unit says.
 */
export const PRICE_LIST_SERVICE = 'AmazonBedrockFoundationModels';

type Kind = keyof TokenPrices;
const KINDS: Record<string, Kind> = {
  input_tokens: 'input',
  output_tokens: 'output',
  cache_read_input_tokens: 'cacheRead',
  cache_write_input_tokens: 'cacheWrite',
  cache_write_1h_input_tokens: 'cacheWrite1h',
};
const USAGE = new RegExp(
  `:[A-Z0-9]+_(${Object.keys(KINDS).join('|')})(_global)?_(standard|batch|flex|priority)(?:-|$)`,
  'i',
);
const EDITION = / \(Amazon Bedrock Edition\)$/;

/** A Price List region code prefix (`USE1`), for the offers the emulator writes. */
function regionCode(region: string): string {
  const [area, dir, n] = region.split('-');
  return `${(area ?? '').slice(0, 2).toUpperCase()}${(dir ?? '').slice(0, 1).toUpperCase()}${n ?? ''}`;
}

interface Offer {
  products?: Record<string, { sku?: string; attributes?: Record<string, string> }>;
  terms?: { OnDemand?: Record<string, Record<string, { priceDimensions?: Record<string, Dimension> }>> };
}
interface Dimension {
  unit?: string;
  pricePerUnit?: { USD?: string };
}

/** USD per million tokens from one price dimension, or undefined when it is not a token price. */
function perMillion(d: Dimension): number | undefined {
  const usd = Number(d.pricePerUnit?.USD);
  if (!Number.isFinite(usd) || usd < 0) return undefined;
  const unit = (d.unit ?? '').toLowerCase();
  const per = /1m|million/.test(unit) ? 1 : /1k|thousand/.test(unit) ? 1_000 : 1_000_000;
  return Math.round(usd * per * 1e6) / 1e6;
}

type Named = Pick<ModelEntry, 'name' | 'displayName'>;

/** The model a Price List `servicename` names ("Claude Opus 4.7 (Amazon Bedrock Edition)"), by display name. */
function modelFor(servicename: string | undefined, models: readonly Named[]): Named | undefined {
  const name = servicename?.replace(EDITION, '').trim().toLowerCase();
  return name ? models.find((m) => m.displayName.toLowerCase() === name) : undefined;
}

/**
 * One region's offer file → prices per model name, by routing (`global` or `regional`): the standard tier's, and the
 * other service tiers' (`priority`, `flex`) in `tiers`. Batch prices are not kept (the gateway makes no batch calls).
 */
export function readOffer(offer: unknown, models: readonly Named[]): Record<string, RegionPrices> {
  const o = (offer ?? {}) as Offer;
  const out: Record<string, RegionPrices> = {};
  for (const [sku, product] of Object.entries(o.products ?? {})) {
    const what = describe(product.attributes ?? {}, models);
    if (!what) continue;
    for (const term of Object.values(o.terms?.OnDemand?.[sku] ?? {})) {
      for (const d of Object.values(term.priceDimensions ?? {})) {
        const price = perMillion(d);
        if (price === undefined) continue;
        const entry = (out[what.model] ??= {});
        const into = what.tier === 'standard' ? entry : ((entry.tiers ??= {})[what.tier] ??= {});
        (into[what.routing] ??= {})[what.kind] = price;
      }
    }
  }
  return out;
}

/** What a product prices: a model's token kind, routing and tier (batch and non-token products: nothing). */
function describe(attrs: Record<string, string>, models: readonly Named[]) {
  const m = USAGE.exec(attrs['usagetype'] ?? '');
  const model = modelFor(attrs['servicename'], models);
  const tier = m?.[3]?.toLowerCase();
  if (!m || !model || !tier || tier === 'batch') return undefined;
  const routing: 'global' | 'regional' = m[2] ? 'global' : 'regional';
  return { model: model.name, kind: KINDS[m[1]!.toLowerCase()]!, routing, tier };
}

/**
 * The offer file Bedrock's Price List would serve for a region, written from the catalog (the emulator's): each
 * model's global prices where it has a global profile, its regional ones (with the premium) where it is offered there.
 */
export function offerFor(catalog: Catalog, region: string): Record<string, unknown> {
  const products: Record<string, unknown> = {};
  const onDemand: Record<string, unknown> = {};
  const code = regionCode(region);
  const premium = 1 + catalog.data.regionalPremium;
  for (const model of catalog.models) {
    if (model.lifecycle.status === 'retired' || !model.pricing.input) continue;
    const routings: Array<['global' | 'regional', number]> = [['regional', premium]];
    if (model.profiles.includes('global')) routings.unshift(['global', 1]);
    for (const [routing, factor] of routings) {
      for (const [usage, kind] of Object.entries(KINDS)) {
        const price = model.pricing[kind] ?? (kind === 'cacheWrite1h' ? model.pricing.input * 2 : undefined);
        if (price === undefined) continue;
        const sku = `${model.name}-${code}-${routing}-${kind}`.toUpperCase();
        const usagetype = `${code}-MP:${code}_${usage}${routing === 'global' ? '_global' : ''}_standard-Units`;
        const servicename = `${model.displayName} (Amazon Bedrock Edition)`;
        products[sku] = { sku, productFamily: 'Inference', attributes: { servicename, regionCode: region, usagetype } };
        const usd = ((price * factor) / 1_000_000).toFixed(10);
        onDemand[sku] = {
          [`${sku}.JRTCKXETXF`]: {
            priceDimensions: { [`${sku}.JRTCKXETXF.6YS6EN2CT7`]: { unit: 'Units', pricePerUnit: { USD: usd } } },
          },
        };
      }
    }
  }
  return {
    formatVersion: 'v1.0',
    offerCode: PRICE_LIST_SERVICE,
    regionCode: region,
    products,
    terms: { OnDemand: onDemand },
  };
}

/** One difference between the package's prices and a synced list. */
export interface PriceDifference {
  model: string;
  region: string;
  routing: 'global' | 'regional';
  kind: Kind;
  builtIn: number | undefined;
  synced: number;
}

/**
 * Every price of a synced list that differs from what the package would charge (its global list prices, with the
 * regional premium for regional routing), to a hundredth of a cent per million tokens.
 */
export function comparePrices(
  catalog: Catalog,
  synced: Record<string, Record<string, RegionPrices>>,
): PriceDifference[] {
  const out: PriceDifference[] = [];
  const premium = 1 + catalog.data.regionalPremium;
  for (const [name, regions] of Object.entries(synced)) {
    const model = catalog.find(name);
    for (const [region, byRouting] of Object.entries(regions)) {
      for (const routing of ['global', 'regional'] as const) {
        for (const [kind, price] of Object.entries(byRouting[routing] ?? {}) as Array<[Kind, number]>) {
          const base = model?.pricing[kind] ?? (kind === 'cacheWrite1h' && model ? model.pricing.input * 2 : undefined);
          const builtIn =
            base === undefined ? undefined : Math.round(base * (routing === 'global' ? 1 : premium) * 1e4) / 1e4;
          if (builtIn === undefined || Math.abs(builtIn - price) > 1e-4)
            out.push({ model: name, region, routing, kind, builtIn, synced: price });
        }
      }
    }
  }
  return out;
}
