import { getDefaultCatalog, type Catalog } from '../catalog/catalog.js';
import { findModelForId, resolveModel, type ResolvedModel } from '../catalog/resolve-model.js';
import { headerOf } from '../headers.js';
import { BedrockClaudeError } from '../errors.js';
import { parseBetaHeader } from '../translate/to-bedrock.js';
import type { CheckInput, Diagnostic } from './diagnostic.js';
import { RULES, type RuleContext } from './rules.js';

/**
 * Runs every preflight rule over a request and returns the diagnostics, errors first in rule order.
 * Catches the common mistakes before AWS does, each with the fix.
 *
 * @example
 * ```ts
 * const diagnostics = checkRequest({
 *   format: 'bedrock', region: 'us-west-2', model: 'anthropic.claude-opus-4-6-v1',
 *   body: { model: 'x', max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] },
 * });
 * // on-demand-not-supported, anthropic-version, body-model ...
 * ```
 */
export function checkRequest(input: CheckInput): Diagnostic[] {
  const catalog = input.catalog ?? getDefaultCatalog();
  const body =
    input.body && typeof input.body === 'object' && !Array.isArray(input.body)
      ? (input.body as Record<string, unknown>)
      : undefined;
  const modelInput = input.model ?? (typeof body?.['model'] === 'string' ? (body['model'] as string) : undefined);

  let resolved: ResolvedModel | undefined;
  let resolveError: BedrockClaudeError | undefined;
  if (modelInput) {
    try {
      resolved = resolveModel(modelInput, { region: input.region ?? 'us-east-1', scope: input.scope, catalog });
    } catch (err) {
      if (!(err instanceof BedrockClaudeError)) throw err;
      resolveError = err;
    }
  }
  const model = resolved?.model ?? input.knownModel ?? modelForId(modelInput, catalog);
  const rawBodyBetas = body?.['anthropic_beta'];
  const bodyBetas = Array.isArray(rawBodyBetas) ? rawBodyBetas.filter((b): b is string => typeof b === 'string') : [];
  const sdkBetas =
    input.format === 'anthropic' && Array.isArray(body?.['betas'])
      ? (body!['betas'] as unknown[]).filter((b): b is string => typeof b === 'string')
      : [];

  const ctx: RuleContext = {
    input,
    catalog,
    body,
    modelInput,
    model,
    resolved,
    resolveError,
    headerBetas: [...parseBetaHeader(headerOf(input.headers, 'anthropic-beta')), ...sdkBetas],
    bodyBetas,
  };
  return RULES.flatMap((rule) => rule.run(ctx));
}

const modelForId = (id: string | undefined, catalog: Catalog) => (id ? findModelForId(id, catalog) : undefined);
