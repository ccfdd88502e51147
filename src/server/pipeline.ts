import type { GatewayKey } from './gateway-keys.js';
import type { AbortLike } from '../transport/abort.js';
import type { MessagesResult, Target } from '../transport/bedrock-transport.js';
import type { SanitizePolicy } from '../translate/sanitize.js';
import type { AnthropicHttpRequest, BedrockHttpRequest } from '../translate/to-bedrock.js';
import type { StreamSummary } from '../translate/to-sse.js';
import type { Front, MatchedRoute } from './fronts/front.js';
import { newUsageRecord, type UsageRecord } from './usage.js';

/** Request headers as node hands them over: lower-case names, repeated ones as arrays. */
export type RequestHeaders = Record<string, string | string[] | undefined>;

/** A request as the app sees it: what it reads of an HTTP request, with or without a socket behind it. */
export interface GatewayRequest {
  readonly method: string;
  /** The path and query, as received. */
  readonly url: string;
  readonly headers: RequestHeaders;
  /** Reads the whole body, up to `limit` bytes (413 `request_too_large` past it). */
  body(limit: number): Promise<Buffer>;
  /** Aborted when the client goes away before its answer is complete. */
  readonly signal: AbortLike;
}

/** An answer: bytes, or a stream of bytes written as they come (with backpressure). */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string | Uint8Array | AsyncIterable<Uint8Array> | undefined;
  /** No answer at all: the connection is reset (the emulator's `reset` fault). */
  drop?: boolean;
}

/** A model call, decoded by a front from its wire format: the Anthropic Messages request. */
export interface CanonicalCall {
  operation: 'messages' | 'count-tokens';
  /** The model as the client named it: an Anthropic name, an alias, a Bedrock ID or profile. */
  model: string;
  request: AnthropicHttpRequest;
  stream: boolean;
  /** The body as the client sent it, when that is not `request.body` (the emulator records it). */
  wire?: unknown;
}

/** A request's state as it passes the stages. One class, so every request has the same shape. */
export class Ctx {
  /** The id every answer and the usage record carry (set by the request-id stage). */
  id = '';
  /** Headers every answer to this request carries. */
  headers: Record<string, string> = {};
  key: GatewayKey | undefined = undefined;
  body: Buffer | undefined = undefined;
  call: CanonicalCall | undefined = undefined;
  targets: Target[] | undefined = undefined;
  policy: SanitizePolicy = 'drop';
  /** The translation for the first target, made once for preflight and reused to send. */
  translated: BedrockHttpRequest | undefined = undefined;
  result: MessagesResult | undefined = undefined;
  /** What a streamed answer amounted to, filled in while it is encoded. */
  summary: StreamSummary | undefined = undefined;
  reply: Reply | undefined = undefined;
  /** Set when the answer is over: whether the client left before all of it was written. */
  clientGone = false;
  /** The AWS region the request is for, when a stage has worked it out (the emulator: from the signature). */
  region: string | undefined = undefined;
  /** What a stage leaves for a later one of its own kind (the emulator's fault for its fake model). */
  readonly state: Record<string, unknown> = {};
  readonly usage: UsageRecord;
  /** Run once the answer is written or abandoned (usage, later the ledger and settlements). */
  readonly finishers: Array<(ctx: Ctx) => void> = [];
  readonly front: Front;
  readonly params: readonly string[];

  constructor(
    readonly req: GatewayRequest,
    readonly route: MatchedRoute,
    /** `performance.now()` when the request arrived. */
    readonly started: number,
    /** Wall-clock time when it arrived, in ms since the epoch. */
    readonly time: number,
  ) {
    this.front = route.front;
    this.params = route.params;
    this.usage = newUsageRecord(req.method, route.front.name, route.label, route.pathname, time);
  }
}

/** One step of the request path. It does its part and calls `next(ctx)` to go on, or answers by not calling it. */
export type Stage = (ctx: Ctx, next: (ctx: Ctx) => Promise<void>) => Promise<void>;

/**
 * Composes stages once, at start-up, into one function: each stage gets the rest of the chain as
 * `next`. No closure is made per request.
 */
export function compose(stages: readonly Stage[], last: (ctx: Ctx) => Promise<void>): (ctx: Ctx) => Promise<void> {
  let run = last;
  for (let i = stages.length - 1; i >= 0; i--) {
    const stage = stages[i]!;
    const next = run;
    run = (ctx) => stage(ctx, next);
  }
  return run;
}
