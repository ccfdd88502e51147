import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import type { TransportEvent } from '../transport/bedrock-transport.js';

// Only the three classes used: prom-client's index also loads its default metrics (and with them
// the 52 modules of @opentelemetry/api), the push gateway and the cluster aggregator.
const require = createRequire(import.meta.url);
const Counter: typeof PromClient.Counter = require('prom-client/lib/counter.js');
const Histogram: typeof PromClient.Histogram = require('prom-client/lib/histogram.js');
const Registry: typeof PromClient.Registry = require('prom-client/lib/registry.js');

/** The gateway's Prometheus metrics, in a registry of its own. Labels never carry secrets. */
export function createGatewayMetrics() {
  const registry = new Registry();
  const requests = new Counter({ name: 'bedrock_claude_requests_total', help: 'Requests answered, by path and status', labelNames: ['path', 'status'], registers: [registry] });
  const latency = new Histogram({ name: 'bedrock_claude_request_duration_seconds', help: 'Request latency', labelNames: ['path'], buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120], registers: [registry] });
  const ttfb = new Histogram({ name: 'bedrock_claude_upstream_ttfb_seconds', help: 'Time to the first upstream byte', buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30], registers: [registry] });
  const tokens = new Counter({ name: 'bedrock_claude_tokens_total', help: 'Tokens, by direction', labelNames: ['direction'], registers: [registry] });
  const cost = new Counter({ name: 'bedrock_claude_cost_usd_total', help: 'Estimated cost in USD (regional premium included)', registers: [registry] });
  const upstreamErrors = new Counter({ name: 'bedrock_claude_upstream_errors_total', help: 'Upstream errors by Anthropic error type', labelNames: ['type'], registers: [registry] });
  const retries = new Counter({ name: 'bedrock_claude_retries_total', help: 'Retries of an upstream call', registers: [registry] });
  const failovers = new Counter({ name: 'bedrock_claude_failovers_total', help: 'Failovers to the next target', registers: [registry] });

  const knownPaths = new Set(['/v1/messages', '/v1/messages/count_tokens', '/v1/models', '/', '/healthz', '/readyz', '/metrics']);
  return {
    registry,
    observe(path: string, status: number, latencyMs: number, ttfbMs: number | undefined, usage: { input_tokens: number; output_tokens: number } | undefined, usd: number | undefined) {
      // Unknown paths collapse into one label so a scanner cannot blow up the series count.
      const label = knownPaths.has(path) ? path : path.startsWith('/v1/models/') ? '/v1/models/:id' : 'other';
      requests.inc({ path: label, status: String(status) });
      latency.observe({ path: label }, latencyMs / 1000);
      if (ttfbMs !== undefined) ttfb.observe(ttfbMs / 1000);
      if (usage) {
        tokens.inc({ direction: 'input' }, usage.input_tokens);
        tokens.inc({ direction: 'output' }, usage.output_tokens);
      }
      if (usd) cost.inc(usd);
    },
    onTransportEvent(event: TransportEvent) {
      if (event.type === 'retry') retries.inc();
      else if (event.type === 'failover') failovers.inc();
      else if (event.type === 'upstream_error') upstreamErrors.inc({ type: event.error.type });
    },
  };
}
