/**
 * bedrock-claude: Claude on Amazon Bedrock for everyone who speaks the Anthropic API.
 * Named exports only; see README for the API tour.
 */
export { BedrockClaudeError, invalidRequest, type AnthropicErrorType } from './errors.js';

export {
  createCatalog,
  getDefaultCatalog,
  normalizeModelName,
  PROFILE_PREFIXES,
  type Catalog,
  type CatalogData,
  type CatalogOverrides,
  type ModelEntry,
  type ProfilePrefix,
  type GeoPrefix,
} from './catalog/catalog.js';
export {
  resolveModel,
  parseModelInput,
  findModelForId,
  suggestModels,
  describeAvailability,
  SCOPES,
  type Scope,
  type ResolvedModel,
  type ResolveOptions,
} from './catalog/resolve-model.js';
export { regionToGeo, globalAllowedFrom, isRegionName } from './catalog/regions.js';
export { estimateCost, type Usage, type CostEstimate } from './catalog/estimate-cost.js';

export { checkRequest } from './check/check-request.js';
export { RULES, type Rule } from './check/rules.js';
export { hasErrors, type Diagnostic, type DiagnosticCode, type CheckInput, type Severity } from './check/diagnostic.js';
export { estimateInputTokens } from './check/estimate-tokens.js';

export {
  toBedrockRequest,
  fromBedrockBody,
  toCountTokensBody,
  fromCountTokensBody,
  fromCountTokensResponse,
  bedrockPath,
  encodeModelSegment,
  parseBetaHeader,
  type AnthropicHttpRequest,
  type BedrockHttpRequest,
  type BedrockOperation,
} from './translate/to-bedrock.js';
export {
  sanitizeBedrockBody,
  judgeBeta,
  SANITIZE_POLICIES,
  type SanitizePolicy,
  type Removal,
} from './translate/sanitize.js';
export {
  eventStreamToSse,
  frameToSse,
  emptySummary,
  sseEvent,
  sseError,
  type StreamSummary,
  type InvocationMetrics,
} from './translate/to-sse.js';
export {
  decodeEventStream,
  encodeChunkFrame,
  encodeEventFrame,
  encodeExceptionFrame,
  encodeErrorFrame,
  encodeFrame,
} from './translate/event-stream.js';
export {
  fromBedrockError,
  toBedrockError,
  toAnthropicErrorBody,
  amznErrorType,
  parseAmznErrorType,
  type AnthropicErrorBody,
  type BedrockErrorResponse,
} from './translate/errors.js';
export { parseSse } from './translate/parse-sse.js';
export {
  toAnthropicSse,
  toBedrockEventStream,
  toConverseStream,
  toOpenAISse,
  anthropicEvents,
  exceptionFrameFor,
  type WireStream,
} from './translate/encode-stream.js';
export {
  BEDROCK_ERRORS,
  EXCEPTION_FOR_TYPE,
  bedrockErrorKind,
  type BedrockErrorKind,
  type BedrockErrorName,
} from './translate/bedrock-errors.js';
export { UNSUPPORTED_APIS, unsupportedApiFor, type UnsupportedApi } from './catalog/unsupported-apis.js';
export { anthropicToConverse } from './translate/converse-from-anthropic.js';
export {
  converseToAnthropic,
  anthropicToConverseResponse,
  anthropicEventToConverse,
  responseFieldPaths,
  type ConverseStreamState,
} from './translate/converse.js';
export { anthropicToOpenAI } from './translate/openai-from-anthropic.js';
export { openAIToAnthropic, type OpenAIDecodeOptions } from './translate/openai.js';
export { OPENAI_NO_EFFECT, REASONING_BUDGETS } from './translate/openai-params.js';
export {
  anthropicToOpenAIResponse,
  anthropicEventToOpenAI,
  newOpenAIStreamState,
  openAIErrorBody,
  openAIStatus,
  type CompletionMeta,
  type OpenAIStreamState,
} from './translate/openai-response.js';

export {
  createCredentialCache,
  resolveBedrockAuth,
  type CredentialCache,
  type CredentialOptions,
  type BedrockAuth,
} from './aws/credentials.js';
export { createBedrockSigner, bedrockEndpoint, type SignableRequest } from './aws/signer.js';

export {
  createTransport,
  type AbortLike,
  type Transport,
  type Target,
  type TransportOptions,
  type TransportEvent,
  type MessagesResult,
  type StreamResult,
  type Upstream,
  type UpstreamStream,
} from './transport/bedrock-transport.js';
export { createCircuitBreaker, type CircuitBreaker } from './transport/circuit-breaker.js';

export { createBedrockClaude, type BedrockClaudeOptions } from './client/create-client.js';

export {
  createGatewayApp,
  type GatewayApp,
  type GatewayDeps,
  type Exchange,
  type InProcessResponse,
} from './server/app.js';
export { compose, Ctx, type Stage, type GatewayRequest, type Reply, type CanonicalCall } from './server/pipeline.js';
export type { Front, RouteGroup, RouteSpec } from './server/fronts/front.js';
export type { UsageRecord, UsageSink } from './control/usage-record.js';
export { createStaticKeyStore, type KeyStore } from './control/key-store.js';
export { createMemoryCounterStore, type CounterStore } from './control/counter-store.js';
export { takeTokens, refill, type BucketLimit, type BucketState, type BucketAnswer } from './control/token-bucket.js';

export {
  startEmulator,
  EMULATOR_CREDENTIALS,
  type EmulatorOptions,
  type RunningEmulator,
} from './emulator/emulator.js';
export type { ReceivedRequest } from './emulator/stages.js';
