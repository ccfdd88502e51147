import type { BedrockClaudeError } from '../../errors.js';
import type { MessagesResult } from '../../transport/bedrock-transport.js';
import type { CanonicalCall, Ctx, Reply } from '../pipeline.js';

export type FrontName = 'anthropic' | 'bedrock' | 'converse' | 'mantle' | 'openai' | 'ops';

/** One route a front serves. */
export interface RouteSpec {
  /** `GET`, `POST`, ... or `*` for any (HEAD is served by a GET route). */
  method: string;
  /**
   * A path template (`/model/{modelId}/invoke`: a `{name}` is one segment, handed to the front
   * undecoded; a trailing `/*` takes the rest) or a pattern for a family of paths.
   */
  path: string | RegExp;
  /** A model call: the request goes through the call stages and the front's `decode` and `encode`. */
  call?: boolean;
  /** The operation's name, where the front has several on one decoder (`invoke`, `converse-stream`, ...). */
  operation?: string;
  /** An answer of the front's own instead of a model call (a listing, a refusal). */
  serve?: (ctx: Ctx) => Reply | Promise<Reply>;
  /** Served without a gateway key, and while the gateway drains (probes and metrics). */
  public?: boolean;
  /** Left out of the "this gateway serves ..." list in not-found answers. */
  unlisted?: boolean;
}

/** A route matched for one request. */
export interface MatchedRoute {
  front: Front;
  spec: RouteSpec;
  /** The values of the path's `{name}` segments, in order, undecoded. */
  params: string[];
  pathname: string;
  /** The metric and usage label: the template, or `other` for a family pattern. */
  label: string;
}

/**
 * A dialect the gateway speaks: its routes, how a request in it becomes the canonical call, and how
 * a result, a stream and an error go back in its shape. A front never touches keys, limits or the
 * ledger; the stages never read a front's wire format.
 */
export interface Front {
  name: FrontName;
  routes: RouteSpec[];
  /**
   * The request's body (read by the body-limit stage) as the canonical call. Throws a
   * `BedrockClaudeError` for bad input. A promise only when it must wait for something (an image to fetch).
   */
  decode(ctx: Ctx, body: Buffer): CanonicalCall | Promise<CanonicalCall>;
  /** An upstream result as this front's answer (streams are encoded as they are written, filling `ctx.summary`). */
  encode(ctx: Ctx, result: MessagesResult): Reply;
  /** An error in this front's own shape. */
  encodeError(ctx: Ctx, error: BedrockClaudeError): Reply;
}

/** The listed routes of a front, for a not-found answer's fix: `POST /v1/messages, GET /v1/models`. */
export function describeRoutes(front: Front): string {
  return front.routes
    .filter((r) => !r.unlisted && typeof r.path === 'string')
    .map((r) => `${r.method === '*' ? 'ANY' : r.method} ${String(r.path)}`)
    .join(', ');
}
