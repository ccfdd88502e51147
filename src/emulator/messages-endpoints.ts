import { backendsOf } from '../catalog/backends.js';
import type { Catalog } from '../catalog/catalog.js';
import { parseModelInput } from '../catalog/model-input.js';
import { estimateInputTokens } from '../check/estimate-tokens.js';
import { BedrockClaudeError, invalidRequest } from '../errors.js';
import type { RouteSpec } from '../server/pipeline.js';

/** The Messages-API endpoint a request reached: bedrock-runtime's `/anthropic`, bedrock-mantle, Claude Platform. */
export type MessagesEndpoint = 'runtime' | 'mantle' | 'platform';

/** The SigV4 services a route takes: `/anthropic` is served by bedrock-runtime and bedrock-mantle alike. */
export function servicesFor(spec: RouteSpec<string>): string | string[] {
  if (!spec.operation?.startsWith('mantle')) return 'bedrock';
  return String(spec.path).startsWith('/anthropic') ? ['bedrock-mantle', 'bedrock'] : 'aws-external-anthropic';
}

/**
 * The endpoint of a Messages request: Claude Platform's path, else the service it was signed for, else (a Bedrock API
 * key) the host it named, else the emulator's default.
 */
export function endpointOf(
  spec: RouteSpec<string>,
  service: string | undefined,
  host: string | undefined,
  fallback: MessagesEndpoint,
): MessagesEndpoint | undefined {
  if (!spec.operation?.startsWith('mantle')) return undefined;
  if (!String(spec.path).startsWith('/anthropic')) return 'platform';
  if (service) return service === 'bedrock' ? 'runtime' : 'mantle';
  if (host?.startsWith('bedrock-runtime.')) return 'runtime';
  if (host?.startsWith('bedrock-mantle.')) return 'mantle';
  return fallback;
}

const notFound = (model: string) =>
  new BedrockClaudeError(`model: ${model.slice(0, 200)}: the model does not exist or is not served here.`, {
    status: 404,
    type: 'not_found_error',
    bedrockType: 'ResourceNotFoundException',
  });

/**
 * What the endpoint refuses of the model ID, as far as sources say: bedrock-mantle takes bare IDs only (profile IDs
 * 404); Claude Platform takes Anthropic names and needs the workspace header. bedrock-runtime's `/anthropic` is
 * judged by the InvokeModel rules (profiles; bare IDs where offered on demand).
 */
export function checkEndpointModel(
  endpoint: MessagesEndpoint,
  model: string,
  workspace: string | string[] | undefined,
  catalog: Catalog,
): void {
  if (endpoint === 'mantle') {
    const parsed = parseModelInput(model);
    if (parsed.kind === 'profile-id' || parsed.kind === 'arn') throw notFound(model);
    const entry = catalog.find(model);
    if (entry && !backendsOf(entry).includes('mantle') && entry.backends?.length) throw notFound(model);
    return;
  }
  if (endpoint !== 'platform') return;
  if (typeof workspace !== 'string' || !/^wrkspc_[A-Za-z0-9]+$/.test(workspace))
    throw invalidRequest(
      'anthropic-workspace-id: a workspace ID (wrkspc_...) is required on Claude Platform on AWS.',
      'Send the header anthropic-workspace-id with a workspace of this region.',
    );
  const entry = catalog.find(model);
  if (!entry || parseModelInput(model).kind !== 'name') throw notFound(model);
}

/**
 * bedrock-mantle's quotas: input and output tokens per minute, separate pools, no request quota. A request needs its
 * input plus `max_tokens` of input quota up front (as Bedrock checks it) and `max_tokens` of output quota.
 */
export function createMantleQuotas(quotas: { inputTpm: number; outputTpm: number }, clock: () => number) {
  let minute = -1;
  let input = 0;
  let output = 0;
  return function admit(body: Record<string, unknown>): void {
    const now = Math.floor(clock() / 60_000);
    if (now !== minute) [minute, input, output] = [now, 0, 0];
    const maxTokens = typeof body['max_tokens'] === 'number' ? body['max_tokens'] : 0;
    const wantIn = estimateInputTokens(body) + maxTokens;
    if (input + wantIn > quotas.inputTpm || output + maxTokens > quotas.outputTpm)
      throw new BedrockClaudeError('Too many tokens, please wait before trying again.', {
        status: 429,
        type: 'rate_limit_error',
        bedrockType: 'ThrottlingException',
        retryAfter: 60 - Math.floor((clock() % 60_000) / 1000),
      });
    input += wantIn;
    output += maxTokens;
  };
}
