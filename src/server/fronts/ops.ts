import type { Ctx, Reply } from '../pipeline.js';
import { anthropicError } from './anthropic.js';
import type { RouteGroup } from './front.js';
import { jsonReply } from './replies.js';

export interface OpsDeps {
  region: string;
  /** Shown in `/healthz`, e.g. `emulator`. */
  backendLabel: string;
  /** Whether the gateway is shutting down. */
  draining(): boolean;
  /** Upstream targets whose circuit is open. */
  openCircuits(): string[];
  /** What else keeps the gateway from being ready (the store cannot be opened or written, ...). */
  problems?(): string[];
  /**
   * What is wrong but does not stop the gateway serving (ledger rows spooled, counters failing open): shown, still
   * ready.
   */
  warnings?(): string[];
  /** The Prometheus exposition, and its content type. */
  metrics(): Promise<{ contentType: string; text: string }>;
}

/**
 * Probes and metrics for whoever runs the gateway: `HEAD /` (Claude Code checks the gateway is
 * there), `/healthz`, `/readyz` (503 while draining or with an upstream circuit open) and
 * `/metrics`. Public: no gateway key, answered while draining.
 */
export function createOpsGroup(deps: OpsDeps): RouteGroup {
  function health(ctx: Ctx): Reply {
    const problems = deps.problems?.() ?? [];
    const ready =
      ctx.route.pathname !== '/readyz' ||
      (!deps.draining() && deps.openCircuits().length === 0 && problems.length === 0);
    const status = ready ? 'ok' : deps.draining() ? 'draining' : 'degraded';
    const body: Record<string, unknown> = {
      status,
      service: 'bedrock-claude gateway',
      backend: deps.backendLabel,
      region: deps.region,
    };
    if (problems.length) body['problems'] = problems;
    const warnings = deps.warnings?.() ?? [];
    if (warnings.length) body['warnings'] = warnings;
    return jsonReply(ready ? 200 : 503, body, ctx.headers);
  }
  async function metrics(): Promise<Reply> {
    const { contentType, text } = await deps.metrics();
    return { status: 200, headers: { 'content-type': contentType }, body: text };
  }
  return {
    name: 'ops',
    metered: false,
    routes: [
      { method: 'GET', path: '/', serve: health, public: true },
      { method: 'GET', path: '/healthz', serve: health, public: true },
      { method: 'GET', path: '/readyz', serve: health, public: true },
      { method: 'GET', path: '/metrics', serve: metrics, public: true },
    ],
    encodeError: anthropicError,
  };
}
