import type { GatewayKey } from '../control/gateway-keys.js';
import type { AbortLike } from '../transport/abort.js';
import type { MessagesResult, Target } from '../transport/bedrock-transport.js';
import type { SanitizePolicy } from '../translate/sanitize.js';
import type { AnthropicHttpRequest, BedrockHttpRequest } from '../translate/to-bedrock.js';
import type { StreamSummary } from '../translate/to-sse.js';
import type { CacheBreakpoint } from '../check/cache-breakpoints.js';
import type { BedrockClaudeError } from '../errors.js';
import { newUsageRecord, type UsageRecord } from '../control/usage-record.js';

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
  /** The client's address (the TCP peer), where there is one. */
  readonly remoteAddress?: string | undefined;
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

/** One route a front or a route group serves. `Op` is the front's own list of operations. */
export interface RouteSpec<Op extends string = string> {
  /** `GET`, `POST`, ... or `*` for any (HEAD is served by a GET route). */
  method: string;
  /**
   * A path template (`/model/{modelId}/invoke`: a `{name}` is one segment, handed to the front
   * undecoded; a trailing `/*` takes the rest) or a pattern for a family of paths.
   */
  path: string | RegExp;
  /** A model call: the request goes through the call stages and the front's `decode` and `encode`. */
  call?: boolean;
  /** The operation, where the front has several (`invoke`, `converse-stream`, ...): one of the front's own. */
  operation?: Op;
  /** An answer of its own instead of a model call (a listing, a refusal, a probe). */
  serve?: (ctx: Ctx) => Reply | Promise<Reply>;
  /** Served without a gateway key, and while the gateway drains (probes and metrics). */
  public?: boolean;
  /** Left out of the "this gateway serves ..." list in not-found answers. */
  unlisted?: boolean;
  /** Serves what a caller made (a kept response): without gateway keys, only to the hosts a model call is. */
  owned?: boolean;
}

/**
 * Routes the gateway answers itself (probes and metrics, the admin API, the dashboard): no model
 * call, so no decode or encode. `metered: false` keeps their requests out of the ledger and the
 * live view (the access log and metrics still see them).
 */
export interface RouteGroup {
  name: string;
  metered: boolean;
  routes: RouteSpec[];
  /** An error in the group's own shape. */
  encodeError(ctx: Ctx, error: BedrockClaudeError): Reply;
}

/**
 * A dialect the gateway speaks: its routes, how a request in it becomes the canonical call, and how
 * a result, a stream and an error go back in its shape. A front never touches keys, limits or the
 * ledger; the stages never read a front's wire format. Its traffic is metered.
 */
export interface Front<Op extends string = string> extends RouteGroup {
  metered: true;
  routes: Array<RouteSpec<Op>>;
  /**
   * The request's body (read by the body-limit stage) as the canonical call, for the route's
   * operation (one of the front's own, so a comparison with a misspelt one does not compile). Throws a
   * `BedrockClaudeError` for bad input. A promise only when it must wait for something (an image to fetch).
   */
  decode(ctx: Ctx, body: Buffer, operation: Op | undefined): CanonicalCall | Promise<CanonicalCall>;
  /** An upstream result as this front's answer (streams are encoded as they are written, filling `ctx.summary`). */
  encode(ctx: Ctx, result: MessagesResult): Reply | Promise<Reply>;
}

/**
 * A route matched for one request: its group, the front when it is a model call, the spec and the path's parameters.
 */
export interface MatchedRoute {
  group: RouteGroup;
  /** The dialect that decodes and encodes it, for a model call (`spec.call`). */
  front: Front | undefined;
  spec: RouteSpec;
  /** The values of the path's `{name}` segments, in order, undecoded. */
  params: string[];
  pathname: string;
  /** The metric and usage label: the template, or `other` for a family pattern. */
  label: string;
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
  /** The preflight's estimate of the request's input tokens, shared with the limits (made once). */
  inputTokens: number | undefined = undefined;
  /** The request's cache breakpoints (tokens before each, and its TTL), to split a cache write by TTL. */
  cacheBreakpoints: Array<Pick<CacheBreakpoint, 'tokens' | 'ttl'>> | undefined = undefined;
  /** What a front or stage leaves for its own later use, under a typed key (see {@link StateKey}). */
  private slots: Map<StateKey<unknown>, unknown> | undefined = undefined;
  readonly usage: UsageRecord;
  /** Run once the answer is written or abandoned (usage and the ledger, settlements). */
  readonly finishers: Array<(ctx: Ctx) => void> = [];
  /** Settles once the request's record is durable (the ledger's journal), when a sink says so. */
  durable: Promise<void> | undefined = undefined;
  /** The route's group: it names the request's usage and shapes its errors. */
  readonly group: RouteGroup;
  /** The dialect that decodes and encodes a model call; undefined on routes that answer themselves. */
  readonly front: Front | undefined;
  readonly params: readonly string[];

  /** What was left under `key`, if anything. */
  get<T>(key: StateKey<T>): T | undefined {
    return this.slots?.get(key) as T | undefined;
  }

  set<T>(key: StateKey<T>, value: T): void {
    (this.slots ??= new Map()).set(key, value);
  }

  constructor(
    readonly req: GatewayRequest,
    readonly route: MatchedRoute,
    /** `performance.now()` when the request arrived. */
    readonly started: number,
    /** Wall-clock time when it arrived, in ms since the epoch. */
    readonly time: number,
  ) {
    this.group = route.group;
    this.front = route.front;
    this.params = route.params;
    this.usage = newUsageRecord(req.method, route.group.name, route.label, route.pathname, time, route.group.metered);
  }
}

/** The front of a model call: the route table gives every `call` route one, so its absence is a bug of ours. */
export function frontOf(ctx: Ctx): Front {
  if (!ctx.front) throw new TypeError(`${ctx.route.label} is not a model call`);
  return ctx.front;
}

/**
 * A typed slot in a request's state: a front or stage that must leave itself something between
 * decode and encode (the OpenAI front's original call, the emulator's drawn fault) makes one key,
 * and reads back what it wrote with its type, no cast at the use site.
 */
export class StateKey<T> {
  declare private readonly type: T;
  constructor(readonly name: string) {}
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
