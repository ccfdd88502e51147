import type { Usage } from '../catalog/estimate-cost.js';
import type { InvocationMetrics } from './to-sse.js';

type Headers = Record<string, string | string[] | undefined>;

function header(headers: Headers | undefined, name: string): number | undefined {
  const v = headers?.[name];
  const n = typeof v === 'string' ? Number(v) : NaN;
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/**
 * One usage from everywhere Bedrock reports it: the body's or the stream's `usage` first (it alone
 * has the 5m/1h split), then the stream's invocation metrics, then InvokeModel's response headers,
 * each filling only what the one before left out.
 *
 * @example
 * ```ts
 * reconcileUsage(undefined, { inputTokenCount: 12, outputTokenCount: 3 }); // { input_tokens: 12, output_tokens: 3, ...
 * }
 * ```
 */
export function reconcileUsage(
  usage: Usage | undefined,
  metrics?: InvocationMetrics,
  headers?: Headers,
): Usage | undefined {
  const sources: Array<
    Partial<
      Record<
        'input_tokens' | 'output_tokens' | 'cache_read_input_tokens' | 'cache_creation_input_tokens',
        number | undefined
      >
    >
  > = [
    {
      input_tokens: metrics?.inputTokenCount,
      output_tokens: metrics?.outputTokenCount,
      cache_read_input_tokens: metrics?.cacheReadInputTokenCount,
      cache_creation_input_tokens: metrics?.cacheWriteInputTokenCount,
    },
    {
      input_tokens: header(headers, 'x-amzn-bedrock-input-token-count'),
      output_tokens: header(headers, 'x-amzn-bedrock-output-token-count'),
      cache_read_input_tokens: header(headers, 'x-amzn-bedrock-cache-read-input-token-count'),
      cache_creation_input_tokens: header(headers, 'x-amzn-bedrock-cache-write-input-token-count'),
    },
  ];
  let out: Usage | undefined = usage;
  for (const field of [
    'input_tokens',
    'output_tokens',
    'cache_read_input_tokens',
    'cache_creation_input_tokens',
  ] as const) {
    if ((out?.[field] ?? 0) > 0) continue;
    const found = sources.map((s) => s[field]).find((v) => v !== undefined && v > 0);
    if (found === undefined) continue;
    out = Object.assign({ input_tokens: 0, output_tokens: 0 }, out, { [field]: found });
  }
  return out;
}
