import type { WireStream } from '../translate/encode-stream.js';
import type { Backend, ModelEntry } from '../catalog/catalog.js';
import type { Usage } from '../catalog/estimate-cost.js';
import type { BedrockAuth } from '../aws/credentials.js';
import type { BedrockClaudeError } from '../errors.js';
import type { SanitizePolicy } from '../translate/sanitize.js';
import type { AnthropicHttpRequest, BedrockHttpRequest } from '../translate/to-bedrock.js';
import type { Catalog } from '../catalog/catalog.js';
import type { Dispatcher } from 'undici';
import type { AbortLike } from './abort.js';
import type { CircuitBreaker } from './circuit-breaker.js';

/** One place a request can go: a region, a model ID (or profile, or ARN) and a backend. */
export interface Target {
  region: string;
  modelId: string;
  model?: ModelEntry | undefined;
  /**
   * The endpoint (default `invoke`): InvokeModel, bedrock-runtime's Messages API, bedrock-mantle's, or Claude Platform
   * on AWS.
   */
  backend?: Backend | undefined;
  /** Claude Platform on AWS: the workspace (`wrkspc_...`) sent as `anthropic-workspace-id`. */
  workspaceId?: string | undefined;
  /** Base URL override for this target (VPC endpoint, FIPS, emulator). */
  endpoint?: string | undefined;
  /** A Claude model the catalog does not know yet (a name from its future), sent by its bare ID. */
  unlisted?: boolean | undefined;
  /** The scope it is priced in, when its ID does not say (an application inference profile's reach). */
  pricedAs?: 'global' | 'geo' | 'in-region' | undefined;
}

export interface TransportOptions {
  auth: BedrockAuth;
  /** Base URL for every region (emulator, VPC endpoint). Default: the regional Bedrock host. */
  endpoint?: string | undefined;
  catalog?: Catalog | undefined;
  policy?: SanitizePolicy | undefined;
  timeouts?:
    { connectMs?: number | undefined; firstByteMs?: number | undefined; idleMs?: number | undefined } | undefined;
  /** Retries per target (default 2), backoff base and cap in ms. */
  retry?:
    | {
        max?: number | undefined;
        baseMs?: number | undefined;
        capMs?: number | undefined;
        maxRetryAfterMs?: number | undefined;
      }
    | undefined;
  breaker?: CircuitBreaker | undefined;
  /** Most requests in flight to one target at once; more wait their turn (default: no limit). */
  maxConcurrencyPerTarget?: number | undefined;
  dispatcher?: Dispatcher | undefined;
  /** Observes retries, failovers and upstream errors (metrics). */
  onEvent?: ((event: TransportEvent) => void) | undefined;
  /** Monotonic ms for the time to first byte (default `performance.now`); the gateway passes its own clock. */
  now?: (() => number) | undefined;
  /** For tests: replaces the sleep between retries. */
  sleep?: ((ms: number) => Promise<void>) | undefined;
  random?: (() => number) | undefined;
}

export type TransportEvent =
  | { type: 'retry'; target: Target; attempt: number; delayMs: number; error: BedrockClaudeError }
  | { type: 'failover'; from: Target; to: Target; error: BedrockClaudeError }
  | { type: 'upstream_error'; target: Target; error: BedrockClaudeError }
  | { type: 'circuit_open'; target: Target };

export interface AttemptInfo {
  target: Target;
  attempts: number;
  /** What translation dropped or changed for this target (the body itself is not kept: a stream can last minutes). */
  removals: BedrockHttpRequest['removals'];
  /** Milliseconds from sending to the first byte (headers, or first frame for streams). */
  ttfbMs: number;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * A streamed answer, tagged with the wire format it arrives in; the front that answers the client
 * encodes it (translate/encode-stream.ts). A failure after the first item (the network, a timeout)
 * is thrown from the iterator as a `BedrockClaudeError`; Bedrock's own exception frames arrive as frames.
 */
/** A streamed answer tagged with its wire format (one type with the stream encoders' `WireStream`). */
export type UpstreamStream = WireStream;

export type MessagesResult =
  | (AttemptInfo & {
      kind: 'json';
      body: Record<string, unknown>;
      usage: Usage | undefined;
      /** The bytes Bedrock sent, when `body` is exactly them (not for count-tokens). */ raw?: Buffer;
    })
  | (AttemptInfo & { kind: 'stream' } & UpstreamStream);

export type StreamResult = Extract<MessagesResult, { kind: 'stream' }>;

/** What the gateway needs of an upstream: the transport, or anything that answers the same way (a test's fake). */
export interface Upstream {
  messages(
    request: AnthropicHttpRequest,
    targets: readonly Target[],
    opts?: {
      signal?: AbortSignal | AbortLike | undefined;
      headers?: Record<string, string>;
      policy?: SanitizePolicy | undefined;
      firstTranslated?: BedrockHttpRequest | undefined;
    },
  ): Promise<MessagesResult>;
  close(): Promise<void>;
}
