import { getDefaultCatalog, type Catalog, type ModelEntry } from './catalog.js';
import type { Scope } from './resolve-model.js';

/** Token usage as the Anthropic API reports it. */
export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens?: number | null | undefined;
  cache_read_input_tokens?: number | null | undefined;
  /** Cache writes by time to live, as the Anthropic API reports them; without it every write is a 5-minute one. */
  cache_creation?:
    | { ephemeral_5m_input_tokens?: number | null | undefined; ephemeral_1h_input_tokens?: number | null | undefined }
    | null
    | undefined;
}

export interface CostEstimate {
  /** Total in USD. */
  usd: number;
  input: number;
  output: number;
  cacheWrite: number;
  cacheRead: number;
  /** The multiplier applied for the profile scope (1 for global, 1.1 for geo and in-region). */
  multiplier: number;
  model: string;
  scope: Scope;
  /** Whether the long-context tier's prices applied. */
  longContext: boolean;
}

/**
 * The region's synced prices for the scope's routing (and the service tier's, when the list has them), when the list
 * has input and output for it.
 */
function syncedPrices(
  entry: ModelEntry,
  region: string,
  scope: Scope,
  tier: string | undefined,
): ModelEntry['pricing'] | undefined {
  const inRegion = entry.regionPrices?.[region];
  const routing = scope === 'global' ? 'global' : 'regional';
  const listed = (tier ? inRegion?.tiers?.[tier]?.[routing] : undefined) ?? inRegion?.[routing];
  if (listed?.input === undefined || listed.output === undefined) return undefined;
  const input = listed.input;
  return Object.assign({ cacheWrite: input * 1.25, cacheWrite1h: input * 2, cacheRead: input * 0.1 }, listed, {
    input,
    output: listed.output,
  });
}

/**
 * Estimates the cost of one call from its usage, with the ~10% premium of geo and in-region profiles.
 *
 * @example
 * ```ts
 * estimateCost({ input_tokens: 1000, output_tokens: 500 }, 'claude-sonnet-4-5', 'geo').usd; // 0.0099
 * ```
 */
export function estimateCost(
  usage: Usage,
  model: string | ModelEntry,
  scope: Scope = 'global',
  catalog: Catalog = getDefaultCatalog(),
  region?: string,
  serviceTier?: string,
): CostEstimate {
  const entry = typeof model === 'string' ? catalog.find(model) : model;
  if (!entry) throw new TypeError(`estimateCost: unknown model "${String(model)}"`);
  // A synced price list's prices for the region and routing include the premium already.
  const synced = region ? syncedPrices(entry, region, scope, serviceTier) : undefined;
  const multiplier = synced ? 1 : scope === 'global' ? 1 : 1 + catalog.data.regionalPremium;
  const per = (tokens: number | null | undefined, price: number) => ((tokens ?? 0) * price * multiplier) / 1_000_000;
  const write1h = usage.cache_creation?.ephemeral_1h_input_tokens ?? 0;
  const write5m =
    usage.cache_creation?.ephemeral_5m_input_tokens ?? Math.max(0, (usage.cache_creation_input_tokens ?? 0) - write1h);
  const read = usage.cache_read_input_tokens ?? 0;
  // Past the long-context threshold, every token of the call is at the tier's price (its input counts cache reads and
  // writes).
  const long = entry.pricing.longContext;
  const longContext = long !== undefined && usage.input_tokens + read + write5m + write1h > long.threshold;
  const prices =
    synced && !longContext
      ? synced
      : longContext
        ? Object.assign(
            {},
            entry.pricing,
            { cacheWrite: long.input * 1.25, cacheWrite1h: long.input * 2, cacheRead: long.input * 0.1 },
            long,
          )
        : entry.pricing;
  const input = per(usage.input_tokens, prices.input);
  const output = per(usage.output_tokens, prices.output);
  const cacheWrite = per(write5m, prices.cacheWrite) + per(write1h, prices.cacheWrite1h ?? prices.input * 2);
  const cacheRead = per(read, prices.cacheRead);
  const usd = Math.round((input + output + cacheWrite + cacheRead) * 1e10) / 1e10;
  return { usd, input, output, cacheWrite, cacheRead, multiplier, model: entry.name, scope, longContext };
}
