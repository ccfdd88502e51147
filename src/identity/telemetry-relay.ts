import { request } from 'undici';
import { z } from 'zod';
import type { Ctx, Reply } from '../server/pipeline.js';

/** Where signed-in clients' OpenTelemetry goes: each destination with its own headers and the signals it wants. */
export const telemetrySchema = z
  .object({
    forwardTo: z
      .array(
        z
          .object({
            url: z.string().url(),
            headers: z.record(z.string(), z.string()).default({}),
            metrics: z.boolean().default(true),
            logs: z.boolean().default(false),
            traces: z.boolean().default(false),
          })
          .strict(),
      )
      .min(1)
      .max(10),
  })
  .strict();

export type TelemetryConfig = z.infer<typeof telemetrySchema>;
type Signal = 'metrics' | 'logs' | 'traces';

/**
 * The env a signed-in client gets so that its OpenTelemetry exporters send to the gateway (OTLP/HTTP protobuf): the
 * relay then forwards it. Merged under a policy's own `env`.
 */
export function telemetryEnv(publicUrl: string): Record<string, string> {
  return {
    CLAUDE_CODE_ENABLE_TELEMETRY: '1',
    OTEL_METRICS_EXPORTER: 'otlp',
    OTEL_LOGS_EXPORTER: 'otlp',
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_ENDPOINT: publicUrl.replace(/\/+$/, ''),
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
  };
}

const MAX_EXPORT = 8 * 1024 * 1024;

/**
 * `POST /v1/{metrics,logs,traces}` from a signed-in client: answered 200 at once, the body forwarded byte for byte
 * (its content type and encoding kept) to each destination that wants the signal, with that destination's headers and
 * never the person's token. A destination that fails is logged by `onFailure` and changes no answer.
 */
export function relayRoutes(deps: {
  telemetry: TelemetryConfig | undefined;
  person: (ctx: Ctx) => Promise<unknown>;
  invalid: (ctx: Ctx) => Reply;
  onFailure: (destination: string, err: unknown) => void;
}) {
  const relay =
    (signal: Signal) =>
    async (ctx: Ctx): Promise<Reply> => {
      if (!(await deps.person(ctx))) return deps.invalid(ctx);
      const body = await ctx.req.body(MAX_EXPORT);
      const carried: Record<string, string> = {};
      for (const h of ['content-type', 'content-encoding'] as const) {
        const v = ctx.req.headers[h];
        if (typeof v === 'string') carried[h] = v;
      }
      for (const d of deps.telemetry?.forwardTo ?? []) {
        if (!d[signal]) continue;
        const url = `${d.url.replace(/\/+$/, '')}/v1/${signal}`;
        request(url, {
          method: 'POST',
          headers: Object.assign({}, d.headers, carried),
          body,
          headersTimeout: 10_000,
          bodyTimeout: 10_000,
        })
          .then((res) => res.body.dump())
          .catch((err: unknown) => deps.onFailure(new URL(d.url).host, err));
      }
      return { status: 200, headers: { 'content-type': 'application/json' }, body: '{}' };
    };
  return (['metrics', 'logs', 'traces'] as const).map((signal) => ({
    method: 'POST',
    path: `/v1/${signal}`,
    public: true,
    serve: relay(signal),
  }));
}
