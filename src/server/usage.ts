import pino, { type Logger } from 'pino';
import type { UsageSink } from '../control/usage-record.js';

const round1 = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms * 10) / 10);

/** One access-log line per request (probes of `/healthz`, `/readyz` and `/metrics` are not logged). */
export function createAccessLogSink(logger: Logger): UsageSink {
  return {
    record(u) {
      if (!u.metered && u.path !== '/') return;
      logger.info({
        requestId: u.requestId,
        method: u.method,
        path: u.path,
        front: u.front,
        key: u.key,
        status: u.status,
        model: u.model,
        bedrockModel: u.bedrockModel,
        region: u.region,
        latencyMs: round1(u.latencyMs),
        ttfbMs: round1(u.ttfbMs),
        inputTokens: u.inputTokens,
        outputTokens: u.outputTokens,
        costUsd: u.costUsd,
        dropped: u.dropped?.length ? u.dropped : undefined,
        warnings: u.warnings?.length ? u.warnings : undefined,
        endpoint: u.endpoint,
        note: u.note,
        error: u.error,
      });
    },
  };
}

/** The log: pino to stdout, buffered (a write per 4 KB, not per request), flushed every second, on close and exit. */
export function gatewayLogger(options: { logger?: Logger | undefined }): { logger: Logger; flushLog(): void } {
  if (options.logger) return { logger: options.logger, flushLog: () => undefined };
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const logger = pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime }, destination);
  const flushLog = () => {
    try {
      destination.flushSync();
    } catch {
      // not open yet, or already closed: nothing buffered to lose
    }
  };
  process.once('exit', flushLog);
  setInterval(() => destination.flush(), 1000).unref();
  return { logger, flushLog };
}
