import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import type { TransportEvent } from '../transport/bedrock-transport.js';
import type { BackgroundFailure, ControlGauges } from './control-wiring.js';
import type { UsageRecord } from '../control/usage-record.js';
import type { ConnectionEvent } from './connection-guard.js';

// Only the three classes used: prom-client's index also loads its default metrics (and with them
// the 52 modules of @opentelemetry/api), the push gateway and the cluster aggregator.
const require = createRequire(import.meta.url);
const Counter: typeof PromClient.Counter = require('prom-client/lib/counter.js');
const Histogram: typeof PromClient.Histogram = require('prom-client/lib/histogram.js');
const Gauge: typeof PromClient.Gauge = require('prom-client/lib/gauge.js');
const Registry: typeof PromClient.Registry = require('prom-client/lib/registry.js');

/** The gateway's Prometheus metrics, in a registry of its own. Labels never carry secrets. */
export function createGatewayMetrics() {
  const registry = new Registry();
  const counter = (name: string, help: string, labelNames: string[] = []) =>
    new Counter({ name, help, labelNames, registers: [registry] });
  const usage = usageMetrics(registry, counter);
  const upstreamErrors = counter('bedrock_claude_upstream_errors_total', 'Upstream errors by Anthropic error type', [
    'type',
  ]);
  const retries = counter('bedrock_claude_retries_total', 'Retries of an upstream call');
  const failovers = counter('bedrock_claude_failovers_total', 'Failovers to the next target');
  const failures = counter(
    'bedrock_claude_background_failures_total',
    'Failures off the answer path, which no answer shows (a settlement, a retention run), by where',
    ['where'],
  );

  return {
    registry,
    ...connectionMetrics(registry),
    /**
     * A usage sink: the path label is the route's pattern (`/model/{modelId}/invoke`), so a scanner cannot blow up the
     * series count.
     */
    record: usage.record,
    /**
     * The control plane's servers: whether they answer, the ledger rows that wait, Redis round trips. Read at each
     * scrape.
     */
    watchControl: (g: ControlGauges) => watchControl(registry, g),
    /** A failure that must not break an answer, counted so that it is seen (`where` is ours: `settle`, `prune`). */
    failure(where: BackgroundFailure) {
      failures.inc({ where });
    },
    onTransportEvent(event: TransportEvent) {
      if (event.type === 'retry') retries.inc();
      else if (event.type === 'failover') failovers.inc();
      else if (event.type === 'upstream_error') upstreamErrors.inc({ type: event.error.type });
    },
  };
}

/** Per request: counts and latency by front and route pattern, TTFB, and tokens and spend by model and team. */
function usageMetrics(
  registry: PromClient.Registry,
  counter: (name: string, help: string, labelNames?: string[]) => PromClient.Counter,
) {
  const requests = counter('bedrock_claude_requests_total', 'Requests answered, by front, route and status', [
    'front',
    'path',
    'status',
  ]);
  const latency = new Histogram({
    name: 'bedrock_claude_request_duration_seconds',
    help: 'Request latency',
    labelNames: ['front', 'path'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
    registers: [registry],
  });
  const ttfb = new Histogram({
    name: 'bedrock_claude_upstream_ttfb_seconds',
    help: 'Time to the first upstream byte',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [registry],
  });
  const tokens = counter(
    'bedrock_claude_tokens_total',
    "Tokens, by direction (input, output, cache_read, cache_write), the catalog's model name and the team",
    ['direction', 'model', 'team'],
  );
  const cost = counter(
    'bedrock_claude_cost_usd_total',
    "Estimated cost in USD (regional premium included), by the catalog's model name and the team",
    ['model', 'team'],
  );
  const label = boundedLabels();
  return {
    /**
     * A usage sink: the path label is the route's pattern (`/model/{modelId}/invoke`), so a scanner cannot blow up the
     * series count.
     */
    record(u: UsageRecord) {
      requests.inc({ front: u.front, path: u.route, status: String(u.status) });
      latency.observe({ front: u.front, path: u.route }, u.latencyMs / 1000);
      if (u.ttfbMs !== undefined) ttfb.observe(u.ttfbMs / 1000);
      const model = label.model(u.modelName);
      const team = label.team(u.team);
      if (u.inputTokens) tokens.inc({ direction: 'input', model, team }, u.inputTokens);
      if (u.outputTokens) tokens.inc({ direction: 'output', model, team }, u.outputTokens);
      if (u.cacheReadTokens) tokens.inc({ direction: 'cache_read', model, team }, u.cacheReadTokens);
      if (u.cacheWriteTokens) tokens.inc({ direction: 'cache_write', model, team }, u.cacheWriteTokens);
      if (u.costUsd) cost.inc({ model, team }, u.costUsd);
    },
  };
}

/** At most this many values of a label: the rest are `other`. */
export const MAX_LABEL_VALUES = 200;

/**
 * The cost metrics' labels, bounded: the model is the catalog's name (never what a client sent: `other` for a model
 * the catalog does not know), the team is one an admin made or the config maps (`none` for no team); past
 * {@link MAX_LABEL_VALUES} distinct values of either, the rest are `other`.
 */
function boundedLabels() {
  const bounded = (fallback: string) => {
    const seen = new Set<string>();
    return (value: string | undefined): string => {
      if (value === undefined || value === '') return fallback;
      if (seen.has(value)) return value;
      if (seen.size >= MAX_LABEL_VALUES) return 'other';
      seen.add(value);
      return value;
    };
  };
  return { model: bounded('other'), team: bounded('none') };
}

/** Connections the guard closed or refused, and those open. */
function connectionMetrics(registry: PromClient.Registry) {
  const closed = new Counter({
    name: 'bedrock_claude_connections_closed_total',
    help:
      'Client connections the gateway closed or refused: idle_closed, evicted (room for a new one), refused_total, ' +
      'refused_address',
    labelNames: ['reason'],
    registers: [registry],
  });
  return {
    connection(reason: ConnectionEvent) {
      closed.inc({ reason });
    },
    /** The open client connections, read at each scrape. */
    watchConnections(open: () => number) {
      new Gauge({
        name: 'bedrock_claude_connections_open',
        help: 'Open client connections',
        registers: [registry],
        collect() {
          this.set(open());
        },
      });
    },
  };
}

/** Gauges read at each scrape; one that reads undefined (no such server) is left out. */
function watchControl(registry: PromClient.Registry, g: ControlGauges): void {
  const gauges: Array<[string, string, () => number | undefined]> = [
    [
      'bedrock_claude_store_up',
      'Whether the control-plane store (SQLite or PostgreSQL) takes writes: 1 or 0',
      () => g.storeUp(),
    ],
    ['bedrock_claude_counters_up', 'Whether the shared counter store (Redis) answers: 1 or 0', () => g.countersUp()],
    [
      'bedrock_claude_ledger_pending_rows',
      'Ledger rows not yet written to the store (spooled while it is away)',
      () => g.ledgerPending(),
    ],
    [
      'bedrock_claude_counter_round_trips',
      'Round trips to the shared counter store since start',
      () => g.counterRoundTrips(),
    ],
  ];
  for (const [name, help, read] of gauges)
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const v = read();
        if (v === undefined) this.reset();
        else this.set(v);
      },
    });
}

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;
