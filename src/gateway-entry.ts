/**
 * `bedrock-claude/gateway`: the gateway bound to a port, for embedding it in a program of your own.
 * A subpath of its own, so the library's main entry does not load the logger and metrics.
 */
export { startGateway, type GatewayOptions, type RunningGateway } from './server/gateway.js';
export { createGatewayMetrics } from './server/metrics.js';
export { createAccessLogSink } from './server/usage.js';
