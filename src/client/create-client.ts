import { createCatalog, getDefaultCatalog, type Catalog, type CatalogOverrides } from '../catalog/catalog.js';
import { resolveModel, type Scope } from '../catalog/resolve-model.js';
import { resolveBedrockAuth, type CredentialOptions } from '../aws/credentials.js';
import { BedrockClaudeError } from '../errors.js';
import type { SanitizePolicy } from '../translate/sanitize.js';
import { toAnthropicSse } from '../translate/encode-stream.js';
import { parseSse } from '../translate/parse-sse.js';
import { emptySummary } from '../translate/to-sse.js';
import { createTransport, type TransportOptions } from '../transport/bedrock-transport.js';
import { nonEmpty, regionFromEnv } from '../aws/env-region.js';

export interface BedrockClaudeOptions extends CredentialOptions {
  /** AWS region (default `AWS_REGION`, then `AWS_DEFAULT_REGION`). Required one way or the other. */
  region?: string | undefined;
  scope?: Scope | undefined;
  /** Bedrock API key (default `AWS_BEARER_TOKEN_BEDROCK`). */
  apiKey?: string | undefined;
  /** Base URL override: VPC endpoint, FIPS endpoint, or the emulator. */
  endpoint?: string | undefined;
  policy?: SanitizePolicy | undefined;
  models?: CatalogOverrides | undefined;
  catalog?: Catalog | undefined;
  timeouts?: TransportOptions['timeouts'];
  retry?: TransportOptions['retry'];
}

type Body = Record<string, unknown> & { model: string };

/**
 * A small client whose shape mirrors the official SDK, on top of the resolver, translation and
 * transport: `messages.create`, `messages.stream` (an async iterable of Anthropic events) and
 * `messages.countTokens`. Models may be given by any name the resolver takes.
 *
 * @example
 * ```ts
 * const claude = createBedrockClaude({ region: 'us-west-2' });
 * const message = await claude.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 256, messages: [{ role:
 * 'user', content: 'Hello' }] });
 * for await (const event of claude.messages.stream({ model: 'opus-4.6', max_tokens: 256, messages: [{ role: 'user',
 * content: 'Hi' }] })) {
 *   if (event.type === 'content_block_delta') process.stdout.write((event.delta as { text?: string }).text ?? '');
 * }
 * ```
 */
export function createBedrockClaude(options: BedrockClaudeOptions = {}) {
  const region = nonEmpty(options.region) ?? regionFromEnv();
  const catalog = options.catalog ?? (options.models ? createCatalog(options.models) : getDefaultCatalog());
  const transport = createTransport({
    auth: resolveBedrockAuth(options),
    endpoint: options.endpoint,
    catalog,
    policy: options.policy,
    timeouts: options.timeouts,
    retry: options.retry,
  });

  type CallOptions = { signal?: AbortSignal; headers?: Record<string, string> };
  /** One call to the model named in the body, resolved as requests are. */
  const send = (path: string, body: Body, opts: CallOptions) => {
    check(body);
    const resolved = resolveModel(body.model, { region, scope: options.scope, catalog });
    const targets = [
      { region: resolved.region, modelId: resolved.modelId, model: resolved.model, backend: resolved.backend },
    ];
    return transport.messages({ path, headers: opts.headers, body }, targets, {
      signal: opts.signal,
      headers: upstreamHeaders(opts.headers),
    });
  };

  return {
    /** Resolves a model name the way requests will. */
    resolve: (model: string) => resolveModel(model, { region, scope: options.scope, catalog }),
    messages: {
      async create(body: Body, opts: CallOptions = {}): Promise<Record<string, unknown>> {
        const result = await send('/v1/messages', { ...body, stream: false }, opts);
        if (result.kind !== 'json') throw new TypeError('expected a JSON response');
        return result.body;
      },
      async *stream(body: Body, opts: CallOptions = {}): AsyncGenerator<Record<string, unknown>> {
        const result = await send('/v1/messages', { ...body, stream: true }, opts);
        if (result.kind !== 'stream') throw new TypeError('expected a stream');
        for await (const event of parseSse(toAnthropicSse(result, emptySummary()))) {
          if (event['type'] === 'error') {
            const e = event['error'] as { type: BedrockClaudeError['type']; message: string };
            throw new BedrockClaudeError(e.message, { status: 500, type: e.type });
          }
          yield event;
        }
      },
      async countTokens(body: Body, opts: { signal?: AbortSignal } = {}): Promise<{ input_tokens: number }> {
        const result = await send('/v1/messages/count_tokens', body, opts);
        if (result.kind !== 'json') throw new TypeError('expected a JSON response');
        return result.body as unknown as { input_tokens: number };
      },
    },
    close: () => transport.close(),
  };
}

/** Per-call headers: `anthropic-beta` joins the body's betas, the rest go upstream as HTTP headers. */
function upstreamHeaders(headers: Record<string, string> | undefined): Record<string, string> {
  return headers
    ? Object.fromEntries(Object.entries(headers).filter(([k]) => !k.toLowerCase().startsWith('anthropic-')))
    : {};
}

function check(body: Body): void {
  if (!body || typeof body.model !== 'string')
    throw new BedrockClaudeError('`model` is required.', { status: 400, type: 'invalid_request_error' });
}
