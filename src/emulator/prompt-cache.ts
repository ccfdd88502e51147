import { createHash } from 'node:crypto';
import type { ModelEntry } from '../catalog/catalog.js';
import { cacheBreakpoints } from '../check/cache-breakpoints.js';
import type { FakeMessage } from './fake-model.js';

const TTL_MS = { '5m': 5 * 60_000, '1h': 60 * 60_000 } as const;
const MAX_ENTRIES = 10_000;

/**
 * The emulator's prompt cache, deterministic: a prefix up to a `cache_control` breakpoint (at least
 * the model's minimum cacheable length) that it saw within its TTL is read from the cache; the rest
 * up to the last breakpoint is written, split by each breakpoint's TTL (5m or 1h). Usage says so as
 * the Anthropic API does, `cache_creation` split included (unless `reportSplit` is false, as for a
 * Bedrock that reports only the total).
 */
export function createPromptCache(now: () => number, reportSplit = true) {
  const entries = new Map<string, number>();
  const keyOf = (model: string, prefix: string) =>
    createHash('sha256').update(model).update('\u0001').update(prefix).digest('base64url');
  return {
    /** Rewrites a message's usage for what its request read from and wrote to the cache. */
    apply(body: Record<string, unknown>, model: ModelEntry | undefined, modelId: string, message: FakeMessage): void {
      const min = model?.minCacheTokens ?? 1024;
      const eligible = cacheBreakpoints(body, true).filter((b) => b.tokens >= min);
      if (!eligible.length) return;
      const at = now();
      const keys = eligible.map((b) => keyOf(model?.name ?? modelId, b.prefix!));
      let read = 0;
      let from = 0;
      for (let i = eligible.length - 1; i >= 0; i--) {
        const expires = entries.get(keys[i]!);
        if (expires !== undefined && expires > at) {
          read = eligible[i]!.tokens;
          from = i + 1;
          break;
        }
      }
      const written = { '5m': 0, '1h': 0 };
      let prev = read;
      for (let i = from; i < eligible.length; i++) {
        written[eligible[i]!.ttl] += eligible[i]!.tokens - prev;
        prev = eligible[i]!.tokens;
      }
      // A read refreshes its entry's TTL, as the prompt cache does.
      eligible.forEach((b, i) => {
        entries.delete(keys[i]!);
        entries.set(keys[i]!, at + TTL_MS[b.ttl]);
      });
      while (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value!);
      const usage = message.usage as FakeMessage['usage'] & {
        cache_creation?: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
      };
      const total = usage.input_tokens;
      usage.cache_read_input_tokens = read;
      usage.cache_creation_input_tokens = written['5m'] + written['1h'];
      if (reportSplit)
        usage.cache_creation = { ephemeral_5m_input_tokens: written['5m'], ephemeral_1h_input_tokens: written['1h'] };
      usage.input_tokens = Math.max(0, total - read - usage.cache_creation_input_tokens);
    },
  };
}
