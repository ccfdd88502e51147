import { blockTokens, PER_MESSAGE, textTokens } from './estimate-tokens.js';

export type CacheTtl = '5m' | '1h';

/**
 * A `cache_control` breakpoint: the estimated tokens of the prompt up to and including its block, in cache order
 * (tools, system, messages).
 */
export interface CacheBreakpoint {
  tokens: number;
  ttl: CacheTtl;
  /** The prompt up to the breakpoint, without the markers, as text: a cache key (only with `withPrefix`). */
  prefix?: string;
}

function ttlOf(block: unknown): CacheTtl | undefined {
  const cc = (block as { cache_control?: { ttl?: unknown } } | null)?.cache_control;
  if (!cc || typeof cc !== 'object') return undefined;
  return cc.ttl === '1h' ? '1h' : '5m';
}

function withoutMarker(block: unknown): unknown {
  if (!block || typeof block !== 'object' || !('cache_control' in block)) return block;
  const { cache_control: _c, ...rest } = block as Record<string, unknown>;
  return rest;
}

/**
 * The prompt's cache breakpoints in the order the prompt cache reads them: tools, then system
 * blocks, then message content blocks. Pure and deterministic (the token counts are
 * `estimateInputTokens`'s), so the emulator's cache and the gateway's 5m/1h split agree.
 */
export function cacheBreakpoints(body: Record<string, unknown>, withPrefix = false): CacheBreakpoint[] {
  const out: CacheBreakpoint[] = [];
  const parts: string[] = [];
  let tokens = 0;
  const visit = (block: unknown, cost: number) => {
    tokens += cost;
    if (withPrefix) parts.push(JSON.stringify(withoutMarker(block)));
    const ttl = ttlOf(block);
    if (ttl) out.push(withPrefix ? { tokens, ttl, prefix: parts.join('\u0000') } : { tokens, ttl });
  };
  if (Array.isArray(body['tools'])) for (const t of body['tools']) visit(t, textTokens(JSON.stringify(t)));
  const system = body['system'];
  if (typeof system === 'string') visit(system, textTokens(system));
  else if (Array.isArray(system)) for (const b of system) visit(b, blockTokens(b));
  if (Array.isArray(body['messages'])) {
    for (const m of body['messages']) {
      const message = m as { role?: unknown; content?: unknown } | null;
      tokens += PER_MESSAGE;
      if (withPrefix) parts.push(String(message?.role));
      const content = message?.content;
      if (typeof content === 'string') visit(content, textTokens(content));
      else if (Array.isArray(content)) for (const b of content) visit(b, blockTokens(b));
    }
  }
  return out;
}

/**
 * The TTLs of the prompt's cache breakpoints, in cache order: {@link cacheBreakpoints} without the token counts (for
 * the rules that need only these).
 */
export function cacheTtls(body: Record<string, unknown>): CacheTtl[] {
  const out: CacheTtl[] = [];
  const visit = (block: unknown) => {
    const ttl = ttlOf(block);
    if (ttl) out.push(ttl);
  };
  if (Array.isArray(body['tools'])) body['tools'].forEach(visit);
  if (Array.isArray(body['system'])) body['system'].forEach(visit);
  if (Array.isArray(body['messages'])) {
    for (const m of body['messages']) {
      const content = (m as { content?: unknown } | null)?.content;
      if (Array.isArray(content)) content.forEach(visit);
    }
  }
  return out;
}

/**
 * A cache write's split by time to live, from the request's breakpoints, for when Bedrock reports
 * only the total: the tokens past what was read, segment by segment, each at its breakpoint's TTL,
 * scaled to the reported total.
 */
export function splitCacheWrite(
  breakpoints: readonly Pick<CacheBreakpoint, 'tokens' | 'ttl'>[],
  readTokens: number,
  writeTokens: number,
): { '5m': number; '1h': number } {
  if (writeTokens <= 0) return { '5m': 0, '1h': 0 };
  let five = 0;
  let hour = 0;
  let prev = 0;
  for (const b of breakpoints) {
    const segment = Math.max(0, b.tokens - Math.max(prev, readTokens));
    if (b.ttl === '1h') hour += segment;
    else five += segment;
    prev = b.tokens;
  }
  if (hour === 0) return { '5m': writeTokens, '1h': 0 };
  if (five === 0) return { '5m': 0, '1h': writeTokens };
  const h = Math.round((writeTokens * hour) / (hour + five));
  return { '5m': writeTokens - h, '1h': h };
}
