/**
 * What one request amounted to: made once per request, filled in as it passes the stages, and
 * handed to every sink (metrics, the access log, the ledger) once its answer is written.
 * Never a prompt, an answer or a secret.
 */
export interface UsageRecord {
  requestId: string;
  /** When it arrived, in ms since the epoch. */
  time: number;
  /**
   * The dialect (`anthropic`, `openai`, ...) or route group (`ops`, `admin`, `ui`) that served it: a plain string, so
   * the ledger's schema does not depend on the HTTP fronts.
   */
  front: string;
  /**
   * Model traffic: kept in the ledger and the live view (false for probes, metrics, the admin API and the dashboard).
   */
  metered: boolean;
  method: string;
  /** The route's pattern (`/model/{modelId}/invoke`), or `other` for a path no route serves. */
  route: string;
  path: string;
  /** The gateway key's name, and for a key of the store its id, owner and team. */
  key: string | undefined;
  keyId: string | undefined;
  user: string | undefined;
  team: string | undefined;
  /** What an OpenAI client tagged its request with (`metadata`, `client_metadata`, `prompt_cache_key`), as JSON. */
  clientMetadata?: string | undefined;
  /** A signed-in person's other teams (by their IdP groups), whose budgets this request also counts against. */
  teams?: string[] | undefined;
  /** Claude Code's `x-claude-code-session-id`. */
  session: string | undefined;
  /** The request body's `metadata.user_id`. */
  metadataUser: string | undefined;
  userAgent: string | undefined;
  status: number;
  /** The Anthropic error type, `client_closed` when the client left first. */
  error: string | undefined;
  /** The model as the client named it. */
  model: string | undefined;
  /** The catalog's name of the model it resolved to (`claude-haiku-4-5` for `haiku` or a profile ID), when known. */
  modelName: string | undefined;
  bedrockModel: string | undefined;
  region: string | undefined;
  /** The target's scope: `global`, `geo` or `in-region` (the latter two carry the regional premium). */
  scope: string | undefined;
  streamed: boolean;
  inputTokens: number | undefined;
  outputTokens: number | undefined;
  cacheReadTokens: number | undefined;
  cacheWriteTokens: number | undefined;
  /** Cache writes by time to live, as the Anthropic API reports them (`cache_creation`). */
  cacheWrite5mTokens: number | undefined;
  cacheWrite1hTokens: number | undefined;
  costUsd: number | undefined;
  /**
   * The output was estimated from what the stream delivered: no final usage came (the client left, the upstream
   * died or timed out).
   */
  usageEstimated: boolean;
  /** The service tier the client asked for (`service_tier`, or `X-Amzn-Bedrock-Service-Tier`), if any. */
  serviceTier: string | undefined;
  latencyMs: number;
  ttfbMs: number | undefined;
  /** Betas and fields the sanitising policy removed. */
  dropped: string[] | undefined;
  /** Preflight warnings (codes). */
  warnings: string[] | undefined;
  /** The endpoint that answered (`invoke`, `messages`, `mantle`, `platform`); logged, not in the ledger. */
  endpoint: string | undefined;
  /** What the operator should know of the call (a model from the catalog's future); logged, not in the ledger. */
  note: string | undefined;
  /** Why the gateway refused the request itself, when it did (`budget`, `rate_limit`, ...). */
  reason: string | undefined;
}

/** Where usage records go. Implementations may batch; `close` flushes what they hold. */
export interface UsageSink {
  /**
   * Takes a request's record. A sink that makes it durable in batches (the ledger's journal) answers a promise
   * that settles once it is: the answer's last bytes wait for it.
   */
  record(usage: UsageRecord): void | Promise<void>;
  close?(): Promise<void>;
}

/** A record with nothing known yet but where the request went. */
export function newUsageRecord(
  method: string,
  front: string,
  route: string,
  path: string,
  time: number,
  metered = true,
): UsageRecord {
  return {
    requestId: '',
    time,
    front,
    metered,
    method,
    route,
    path,
    key: undefined,
    keyId: undefined,
    user: undefined,
    team: undefined,
    session: undefined,
    metadataUser: undefined,
    userAgent: undefined,
    status: 0,
    error: undefined,
    model: undefined,
    modelName: undefined,
    bedrockModel: undefined,
    region: undefined,
    scope: undefined,
    streamed: false,
    inputTokens: undefined,
    outputTokens: undefined,
    cacheReadTokens: undefined,
    cacheWriteTokens: undefined,
    cacheWrite5mTokens: undefined,
    cacheWrite1hTokens: undefined,
    costUsd: undefined,
    usageEstimated: false,
    serviceTier: undefined,
    latencyMs: 0,
    ttfbMs: undefined,
    dropped: undefined,
    warnings: undefined,
    endpoint: undefined,
    note: undefined,
    reason: undefined,
  };
}

/**
 * Whether the ledger keeps a request as a row: model traffic, except a refusal for want of a valid gateway key
 * (anyone can send those by the thousand; they are counted in the metrics, `status="401"`, not stored one by one).
 */
export function keptInLedger(u: UsageRecord): boolean {
  return u.metered && !(u.status === 401 && u.keyId === undefined);
}
