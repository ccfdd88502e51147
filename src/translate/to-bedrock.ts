import { versionFor } from '../catalog/backends.js';
import { getDefaultCatalog, type Backend, type Catalog, type ModelEntry } from '../catalog/catalog.js';
import { findModelForId } from '../catalog/resolve-model.js';
import { BedrockClaudeError, invalidRequest } from '../errors.js';
import { headerOf, type HeaderBag } from '../headers.js';
import { applyApiVersionRules, askedApiVersion } from './api-version.js';
import type { SourceJson } from './reuse-json.js';
import { sanitizeBedrockBody, type Removal, type SanitizePolicy } from './sanitize.js';

/** The Bedrock operations we call. */
export type BedrockOperation = 'invoke' | 'invoke-with-response-stream' | 'count-tokens';

/** An Anthropic Messages API request as it reaches us. */
export interface AnthropicHttpRequest {
  /** `/v1/messages`, `/v1/messages?beta=true` or `/v1/messages/count_tokens`. */
  path: string;
  headers?: HeaderBag;
  /** The parsed JSON body. Not mutated. */
  body: Record<string, unknown>;
  /**
   * The client's JSON text, when `body`'s members come from it (the same values): members that
   * translation leaves alone are then sent as the client wrote them instead of serialised again.
   */
  source?: SourceJson | undefined;
}

export interface ToBedrockOptions {
  /** The Bedrock model ID, profile ID or ARN to call (see `resolveModel`). */
  modelId: string;
  /** The catalog entry, for model-specific sanitising. */
  model?: ModelEntry | undefined;
  policy?: SanitizePolicy | undefined;
  catalog?: Catalog | undefined;
  /** The endpoint it goes to (default `invoke`): what it takes decides what is dropped and which version is sent. */
  backend?: Backend | undefined;
}

/** A Bedrock InvokeModel (or stream, or CountTokens) request, ready to sign and send. */
export interface BedrockHttpRequest {
  operation: BedrockOperation;
  /** `/model/{modelId}/invoke...`, the model ID as one percent-encoded segment. */
  path: string;
  /** The Bedrock body (for count-tokens, the CountTokens wrapper). */
  body: Record<string, unknown>;
  /** Whether the client asked for a stream. */
  stream: boolean;
  /** Betas that ended up in `anthropic_beta`. */
  betas: string[];
  removals: Removal[];
  /** The Anthropic API version to send in `anthropic-version` (Messages-API endpoints). */
  apiVersion: string;
}

/** Encodes a model ID as one path segment, the way the AWS SDKs do (`:` → `%3A`, `/` → `%2F`). */
export function encodeModelSegment(modelId: string): string {
  return encodeURIComponent(modelId);
}

/** `/model/{id}/{operation}` with the ID encoded as one segment. */
export function bedrockPath(modelId: string, operation: BedrockOperation | 'converse' | 'converse-stream'): string {
  return `/model/${encodeModelSegment(modelId)}/${operation}`;
}

/** Splits `anthropic-beta` header values (comma separated, possibly repeated) into names. */
export function parseBetaHeader(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  const values = Array.isArray(value) ? value : [value];
  return values
    .flatMap((v) => v.split(','))
    .map((b) => b.trim())
    .filter(Boolean);
}

function bodyBetas(value: unknown, field = 'anthropic_beta'): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((b) => typeof b !== 'string')) {
    throw invalidRequest(
      `\`${field}\` must be an array of strings.`,
      `Write it as "${field}": ["context-1m-2025-08-07"].`,
    );
  }
  return value as string[];
}

/**
 * The model ID CountTokens takes: a profile's base ID; an application profile's model, when it is
 * known. One whose model is not known cannot be counted: 501 `not_supported`, not to be retried (as
 * Anthropic's gateway protocol answers), so that the client counts another way.
 */
function countTokensId(modelId: string, model: ModelEntry | undefined): string {
  if (!modelId.includes(':application-inference-profile/'))
    return modelId.replace(/^(?:global|us|eu|jp|apac|au)\.(?=anthropic\.)/, '');
  if (model) return model.bedrockId;
  throw new BedrockClaudeError('count_tokens is not available on this Bedrock upstream for this model.', {
    status: 501,
    type: 'not_supported',
    fix: 'CountTokens takes foundation model IDs: count with the model the application profile calls.',
  });
}

/**
 * Turns an Anthropic Messages request into the Bedrock InvokeModel request: `model` and `stream`
 * leave the body for the path, `anthropic_version: "bedrock-2023-05-31"` is added, betas from the
 * `anthropic-beta` header and the body are merged into `anthropic_beta` (deduplicated), `?beta=true`
 * is dropped, and betas/fields Bedrock rejects are handled by the sanitising policy.
 *
 * @example
 * ```ts
 * const out = toBedrockRequest(
 *   { path: '/v1/messages', headers: { 'anthropic-beta': 'context-1m-2025-08-07' },
 *     body: { model: 'claude-sonnet-4-5', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'Hi' }] }
 * },
 *   { modelId: 'global.anthropic.claude-sonnet-4-5-20250929-v1:0' },
 * );
 * out.path; // '/model/global.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke-with-response-stream'
 * ```
 */
export function toBedrockRequest(request: AnthropicHttpRequest, options: ToBedrockOptions): BedrockHttpRequest {
  const catalog = options.catalog ?? getDefaultCatalog();
  const model = options.model ?? findModelForId(options.modelId, catalog);
  const pathname = request.path.split('?')[0]!.replace(/\/+$/, '');
  const isCount = pathname.endsWith('/count_tokens');
  if (!isCount && !pathname.endsWith('/v1/messages')) {
    throw invalidRequest(
      `No Bedrock equivalent for ${pathname}.`,
      'Only /v1/messages and /v1/messages/count_tokens map to Bedrock InvokeModel and CountTokens.',
      404,
    );
  }

  const { model: _model, stream: rawStream, betas: sdkBetas, anthropic_beta: rawBodyBetas, ...rest } = request.body;
  const stream = rawStream === true;
  // A Bedrock version the client already set is kept; anything else (an Anthropic API date) is replaced.
  // It goes first, as in Bedrock's documentation, which keeps `convert` output readable.
  const { anthropic_version: given, ...fields } = rest;
  const version =
    typeof given === 'string' && catalog.data.acceptedAnthropicVersions.includes(given)
      ? given
      : catalog.data.anthropicVersion;
  const body: Record<string, unknown> = { anthropic_version: version, ...copyForSanitising(fields) };
  const backend = options.backend ?? 'invoke';
  const asked = askedApiVersion(request.headers, given, catalog.data);
  const sent = versionFor(catalog.data.endpoints[backend], asked);

  const merged: string[] = [];
  for (const b of [
    ...bodyBetas(rawBodyBetas),
    ...parseBetaHeader(headerOf(request.headers, 'anthropic-beta')),
    ...bodyBetas(sdkBetas, 'betas'),
  ]) {
    if (!merged.includes(b)) merged.push(b);
  }

  const policy = options.policy ?? 'drop';
  const { betas, removals } = sanitizeBedrockBody({ body, betas: merged, model, data: catalog.data, policy, backend });
  // The endpoint is sent an older version than the client's: the gateway applies the client's version's rules.
  if (sent.adapted) applyApiVersionRules(body, asked, catalog.data, policy, removals);
  if (betas.length) body['anthropic_beta'] = betas;
  else if ('anthropic_beta' in body) delete body['anthropic_beta']; // `delete` of nothing still costs a runtime call

  if (isCount) {
    if (body['max_tokens'] === undefined) body['max_tokens'] = 1;
    // CountTokens is documented for foundation model IDs: call it with the base ID of a profile.
    const countId = countTokensId(options.modelId, model);
    return {
      operation: 'count-tokens',
      path: bedrockPath(countId, 'count-tokens'),
      body: toCountTokensBody(body),
      stream: false,
      betas,
      removals,
      apiVersion: sent.version,
    };
  }
  const operation: BedrockOperation = stream ? 'invoke-with-response-stream' : 'invoke';
  const path = bedrockPath(options.modelId, operation);
  return { operation, path, body, stream, betas, removals, apiVersion: sent.version };
}

/** Copies the top level and the `tools` array one level deep, so sanitising never touches the caller's objects. */
function copyForSanitising(rest: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...rest };
  if (Array.isArray(rest['tools']))
    out['tools'] = (rest['tools'] as unknown[]).map((t) =>
      t && typeof t === 'object' && !Array.isArray(t) ? { ...t } : t,
    );
  return out;
}

/** Wraps an InvokeModel body for Bedrock CountTokens: `{"input":{"invokeModel":{"body":"<base64>"}}}`. */
export function toCountTokensBody(invokeBody: Record<string, unknown>): Record<string, unknown> {
  return { input: { invokeModel: { body: Buffer.from(JSON.stringify(invokeBody)).toString('base64') } } };
}

/** Unwraps a Bedrock CountTokens body back to the InvokeModel body it carries. */
export function fromCountTokensBody(countBody: unknown): Record<string, unknown> {
  const encoded = (countBody as { input?: { invokeModel?: { body?: unknown } } } | null)?.input?.invokeModel?.body;
  if (typeof encoded !== 'string') {
    throw invalidRequest(
      'Malformed input request: CountTokens needs input.invokeModel.body, a base64 InvokeModel body.',
      'Send {"input":{"invokeModel":{"body":"<base64 of the InvokeModel JSON>"}}}.',
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'));
  } catch {
    throw invalidRequest(
      'Malformed input request: input.invokeModel.body is not base64 of a JSON object.',
      'Base64-encode the InvokeModel JSON body.',
    );
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalidRequest(
      'Malformed input request: input.invokeModel.body is not base64 of a JSON object.',
      'Base64-encode the InvokeModel JSON body.',
    );
  }
  return parsed as Record<string, unknown>;
}

/**
 * Bedrock CountTokens answer `{"inputTokens":N}` (or Mantle's `{"input_tokens":N}`) → Anthropic `{"input_tokens":N}`.
 */
export function fromCountTokensResponse(body: unknown): { input_tokens: number } {
  const b = body as { inputTokens?: unknown; input_tokens?: unknown } | null;
  const n = b?.inputTokens ?? b?.input_tokens;
  if (typeof n !== 'number')
    throw new BedrockClaudeError('Bedrock answered CountTokens without a token count (inputTokens).', {
      status: 502,
      type: 'api_error',
    });
  return { input_tokens: n };
}

/**
 * Turns a Bedrock InvokeModel body back into an Anthropic Messages body (for `convert --from bedrock`
 * and the gateway's Bedrock front): `anthropic_version` leaves, `anthropic_beta` becomes the
 * `anthropic-beta` header, `model` (and `stream`) come back.
 */
export function fromBedrockBody(
  body: Record<string, unknown>,
  model: string,
  stream = false,
): { body: Record<string, unknown>; headers: Record<string, string> } {
  const { anthropic_version: _v, anthropic_beta: betas, ...rest } = body;
  const headers: Record<string, string> = { 'anthropic-version': '2023-06-01' };
  if (Array.isArray(betas) && betas.length) headers['anthropic-beta'] = betas.join(',');
  return { body: { model, ...rest, ...(stream ? { stream: true } : {}) }, headers };
}
