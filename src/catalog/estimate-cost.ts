import { getDefaultCatalog, type Catalog, type ModelEntry } from './catalog.js';
import type { Scope } from './resolve-model.js';

/** Token usage as the Anthropic API reports it. */
export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens?: number | null | undefined;
  cache_read_input_tokens?: number | null | undefined;
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
}

/**
 * Estimates the cost of one call from its usage, with the ~10% premium of geo and in-region profiles.
 *
 * @example
 * ```ts
 * estimateCost({ input_tokens: 1000, output_tokens: 500 }, 'claude-sonnet-4-5', 'geo').usd; // 0.0099
 * ```
 */
export function estimateCost(usage: Usage, model: string | ModelEntry, scope: Scope = 'global', catalog: Catalog = getDefaultCatalog()): CostEstimate {
  const entry = typeof model === 'string' ? catalog.find(model) : model;
  if (!entry) throw new TypeError(`estimateCost: unknown model "${String(model)}"`);
  const multiplier = scope === 'global' ? 1 : 1 + catalog.data.regionalPremium;
  const per = (tokens: number | null | undefined, price: number) => ((tokens ?? 0) * price * multiplier) / 1_000_000;
  const input = per(usage.input_tokens, entry.pricing.input);
  const output = per(usage.output_tokens, entry.pricing.output);
  const cacheWrite = per(usage.cache_creation_input_tokens, entry.pricing.cacheWrite);
  const cacheRead = per(usage.cache_read_input_tokens, entry.pricing.cacheRead);
  const usd = Math.round((input + output + cacheWrite + cacheRead) * 1e10) / 1e10;
  return { usd, input, output, cacheWrite, cacheRead, multiplier, model: entry.name, scope };
}
