import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Server } from 'node:net';
import { createDualProtocolServer, dropResponse, isGone, listen, type AnyRequest, type AnyResponse } from '../server/dual-protocol.js';
import { drained, sendJson } from '../server/http-util.js';
import { sseError, sseEvent } from '../translate/to-sse.js';
import { createCatalog, getDefaultCatalog, type Catalog, type CatalogOverrides, type ModelEntry } from '../catalog/catalog.js';
import { isRegionName } from '../catalog/regions.js';
import { systemInferenceProfiles } from '../catalog/inference-profiles.js';
import { findModelForId } from '../catalog/resolve-model.js';
import { checkRequest } from '../check/check-request.js';
import { BedrockClaudeError } from '../errors.js';
import { anthropicEventToConverse, anthropicToConverseResponse, converseToAnthropic } from '../translate/converse.js';
import { toBedrockError } from '../translate/errors.js';
import { encodeChunkFrame, encodeEventFrame, encodeExceptionFrame } from '../translate/event-stream.js';
import { fromCountTokensBody } from '../translate/to-bedrock.js';
import { lastUserText, respond, streamEvents, type FakeMessage } from './fake-model.js';
import { drawFault, FAULT_KINDS, parseFaults, seededRandom, settingsFor, type FaultKind, type FaultSpec } from './faults.js';
import { compileScript, type ScriptReply } from './script.js';
import { EMULATOR_CREDENTIALS } from './default-credentials.js';
import { createAuthVerifier, type EmulatorCredentials } from './verify-auth.js';

export { EMULATOR_CREDENTIALS };
export const EMULATOR_ACCOUNT = '123456789012';
const MAX_BODY = 25_000_000;

export interface EmulatorOptions {
  host?: string;
  /** 0 picks a free port (default 4010). */
  port?: number;
  /** Region assumed when neither the SigV4 scope nor the Host header names one. */
  region?: string;
  credentials?: EmulatorCredentials[];
  /** Bedrock API keys accepted as `Authorization: Bearer`. */
  apiKeys?: string[];
  /** Turn signature checks off (only for measuring the checks' own cost). */
  verifySignatures?: boolean;
  faults?: string | FaultSpec;
  seed?: number;
  /** A parsed script (see `--script`). */
  script?: unknown;
  models?: CatalogOverrides;
  catalog?: Catalog;
  /** How long the `slow` fault waits before answering (ms, default 3000). */
  slowMs?: number;
  /** How many received requests to keep for inspection (default 200). */
  keepReceived?: number;
  /** Split streamed text into deltas of at most this many characters (default: four deltas). */
  deltaChars?: number;
}

/** A request the emulator received (authorization stripped), for tests to assert on. */
export interface ReceivedRequest {
  operation: string;
  modelId: string;
  region: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  /** The fault injected instead of an answer, if any. */
  fault?: FaultKind;
}

export interface RunningEmulator {
  url: string;
  port: number;
  /** The TCP server in front of the HTTP/1.1 and h2c servers. */
  server: Server;
  received: ReceivedRequest[];
  /** Sockets currently open to the emulator. */
  openConnections(): number;
  /** Replace the fault spec at run time. */
  setFaults(spec: string | undefined): void;
  close(): Promise<void>;
}

/** HTTP/1.1 and h2c (the AWS SDK's default) share one port and one handler. */
type Req = AnyRequest;
type Res = AnyResponse;

interface RequestContext {
  req: Req;
  res: Res;
  requestId: string;
  region: string;
  body: Buffer;
  started: number;
}

const sleep = (ms: number) => (ms > 0 ? new Promise<void>((r) => setTimeout(r, ms)) : Promise.resolve());

const MIDSTREAM_MESSAGE = 'The model stream was interrupted: emulated mid-stream fault.';
const MIDSTREAM_FRAME = encodeExceptionFrame('modelStreamErrorException', MIDSTREAM_MESSAGE);

function sendBedrockError(res: Res, err: BedrockClaudeError, requestId: string): void {
  const out = toBedrockError(err);
  if (res.headersSent) {
    dropResponse(res);
    return;
  }
  sendJson(res, out.status, { message: err.message }, { ...out.headers, 'x-amzn-requestid': requestId });
}

function validationError(message: string, status = 400): BedrockClaudeError {
  return new BedrockClaudeError(message, { status, type: 'invalid_request_error', bedrockType: 'ValidationException' });
}

const FAULT_ERRORS: Partial<Record<FaultKind, () => BedrockClaudeError>> = {
  throttle: () => new BedrockClaudeError('Too many requests, please wait before trying again.', { status: 429, type: 'rate_limit_error', bedrockType: 'ThrottlingException' }),
  error500: () => new BedrockClaudeError('The system encountered an unexpected error during processing. Try your request again.', { status: 500, type: 'api_error', bedrockType: 'InternalServerException' }),
  unavailable: () => new BedrockClaudeError('Bedrock is unable to process your request.', { status: 503, type: 'overloaded_error', bedrockType: 'ServiceUnavailableException' }),
};

function regionFromHost(host: string | undefined): string | undefined {
  const m = host ? /bedrock(?:-runtime)?(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com/.exec(host) : null;
  return m?.[1];
}

/** The `model` field Bedrock puts in responses: the dated Anthropic name. */
function responseModelName(model: ModelEntry | undefined, modelId: string): string {
  return model?.aliases.find((a) => /\d{8}$/.test(a)) ?? model?.name ?? modelId;
}

/**
 * Starts a local Bedrock Runtime: InvokeModel (and stream), CountTokens, Converse (and stream) and
 * ListInferenceProfiles, with SigV4 checks, Bedrock's validation messages, a deterministic echo
 * model, scripted replies and fault injection.
 *
 * @example
 * ```ts
 * const emulator = await startEmulator({ port: 0 });
 * // point AnthropicBedrock at emulator.url with EMULATOR_CREDENTIALS
 * await emulator.close();
 * ```
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const catalog = options.catalog ?? (options.models ? createCatalog(options.models) : getDefaultCatalog());
  const defaultRegion = options.region ?? 'us-west-2';
  const verify = createAuthVerifier({ credentials: options.credentials ?? [EMULATOR_CREDENTIALS], apiKeys: options.apiKeys ?? [] });
  const verifySignatures = options.verifySignatures ?? true;
  let faults = typeof options.faults === 'string' || options.faults === undefined ? parseFaults(options.faults) : options.faults;
  const random = seededRandom(options.seed ?? 1);
  const script = options.script === undefined ? undefined : compileScript(options.script);
  const slowMs = options.slowMs ?? 3000;
  const keep = options.keepReceived ?? 200;
  const received: ReceivedRequest[] = [];

  function record(entry: ReceivedRequest): void {
    received.push(entry);
    if (received.length > keep) received.splice(0, received.length - keep);
  }

  function forcedFault(req: Req): FaultKind | undefined {
    const h = req.headers['x-emulator-fault'];
    const v = Array.isArray(h) ? h[0] : h;
    return v && (FAULT_KINDS as readonly string[]).includes(v) ? (v as FaultKind) : undefined;
  }

  /** Validates an InvokeModel body for a model and region exactly where Bedrock would refuse it. */
  function validate(body: unknown, modelId: string, region: string, path: string): { model: ModelEntry | undefined } {
    const diagnostics = checkRequest({ format: 'bedrock', body, model: modelId, region, path, catalog });
    // CountTokens takes the foundation model ID, so the on-demand rule does not apply to it.
    const failing = diagnostics.find((d) => d.severity === 'error' && d.bedrock && !(path === 'count-tokens' && d.code === 'on-demand-not-supported'));
    if (failing?.bedrock) {
      throw new BedrockClaudeError(failing.bedrock.message, { status: failing.bedrock.status, type: 'invalid_request_error', bedrockType: failing.bedrock.exception });
    }
    return { model: findModelForId(modelId, catalog) };
  }

  function parseJson(buf: Buffer): unknown {
    try {
      return JSON.parse(buf.toString('utf8'));
    } catch {
      throw validationError('Malformed input request: the request body is not valid JSON, please reformat your input and try again.');
    }
  }

  async function applyScript(modelId: string, body: Record<string, unknown>): Promise<ScriptReply | undefined> {
    const reply = script?.(modelId, lastUserText(body));
    if (!reply) return undefined;
    await sleep(reply.delayMs ?? 0);
    if (reply.error) {
      throw new BedrockClaudeError(reply.error.message, { status: reply.error.status, type: 'api_error', bedrockType: reply.error.type });
    }
    return reply;
  }

  function metricsHeaders(ctx: RequestContext, message: FakeMessage): Record<string, string> {
    return {
      'x-amzn-requestid': ctx.requestId,
      'x-amzn-bedrock-invocation-latency': String(Math.round(performance.now() - ctx.started)),
      'x-amzn-bedrock-input-token-count': String(message.usage.input_tokens),
      'x-amzn-bedrock-output-token-count': String(message.usage.output_tokens),
      'x-amzn-bedrock-cache-read-input-token-count': '0',
      'x-amzn-bedrock-cache-write-input-token-count': '0',
    };
  }

  /** Writes a stream with the region's gaps; a mid-stream fault ends it at `midstreamAt` with `interruption`. */
  async function writeFrames(ctx: RequestContext, frames: Iterable<Uint8Array>, gapMs: number, midstreamAt: number | undefined, interruption: Uint8Array | string = MIDSTREAM_FRAME): Promise<void> {
    const { res } = ctx;
    let i = 0;
    for (const frame of frames) {
      if (isGone(res)) return;
      if (midstreamAt !== undefined && i === midstreamAt) {
        res.end(interruption);
        return;
      }
      if (i > 0) await sleep(gapMs);
      if (!(res as ServerResponse).write(frame)) await drained(res as ServerResponse);
      // node corks a response until the next tick, and with no gap this loop never yields: without
      // this, the first event waited for 16 KB of later ones. Bedrock sends it as soon as it exists.
      else if (i === 0) await new Promise((r) => setImmediate(r));
      i++;
    }
    res.end();
  }

  async function invoke(ctx: RequestContext, modelId: string, operation: string, fault: FaultKind | undefined): Promise<void> {
    const body = parseJson(ctx.body);
    record({ operation, modelId, region: ctx.region, headers: redact(ctx.req.headers), body });
    const { model } = validate(body, modelId, ctx.region, operation);
    const b = body as Record<string, unknown>;
    const scripted = await applyScript(modelId, b);
    const message = respond(b, responseModelName(model, modelId), scripted);
    const settings = settingsFor(faults, ctx.region);
    if (operation === 'invoke') {
      sendJson(ctx.res, 200, message, metricsHeaders(ctx, message));
      return;
    }
    const events = streamEvents(message, options.deltaChars);
    const last = events[events.length - 1]!;
    const firstByteLatency = Math.round(performance.now() - ctx.started);
    ctx.res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': ctx.requestId, 'x-amzn-bedrock-content-type': 'application/json' });
    const frames = function* () {
      for (const e of events) {
        if (e === last) {
          e['amazon-bedrock-invocationMetrics'] = {
            inputTokenCount: message.usage.input_tokens,
            outputTokenCount: message.usage.output_tokens,
            invocationLatency: Math.round(performance.now() - ctx.started),
            firstByteLatency,
          };
        }
        yield encodeChunkFrame(JSON.stringify(e));
      }
    };
    await writeFrames(ctx, frames(), settings.gap, fault === 'midstream' ? Math.floor(events.length / 2) : undefined);
  }

  async function converse(ctx: RequestContext, modelId: string, operation: string, fault: FaultKind | undefined): Promise<void> {
    const raw = parseJson(ctx.body);
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw validationError('Malformed input request: the body is not a JSON object.');
    const entry = findModelForId(modelId, catalog);
    const anthropic = { anthropic_version: catalog.data.anthropicVersion, ...converseToAnthropic(raw as Record<string, unknown>, Math.min(4096, entry?.maxOutputTokens ?? 4096)) };
    record({ operation, modelId, region: ctx.region, headers: redact(ctx.req.headers), body: raw });
    const { model } = validate(anthropic, modelId, ctx.region, operation);
    const scripted = await applyScript(modelId, anthropic);
    const message = respond(anthropic, responseModelName(model, modelId), scripted);
    if (operation === 'converse') {
      sendJson(ctx.res, 200, anthropicToConverseResponse(message as unknown as Record<string, unknown>, Math.round(performance.now() - ctx.started)), { 'x-amzn-requestid': ctx.requestId });
      return;
    }
    const state = { usage: { input_tokens: 0, output_tokens: 0 }, latencyMs: 0 };
    ctx.res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': ctx.requestId });
    const events = streamEvents(message, options.deltaChars);
    const frames = function* () {
      for (const e of events) {
        state.latencyMs = Math.round(performance.now() - ctx.started);
        for (const [name, payload] of anthropicEventToConverse(e, state)) yield encodeEventFrame(name, payload);
      }
    };
    await writeFrames(ctx, frames(), settingsFor(faults, ctx.region).gap, fault === 'midstream' ? Math.floor(events.length / 2) : undefined);
  }

  /**
   * Bedrock Mantle, the native Messages API (`POST /anthropic/v1/messages`, SigV4 service
   * `bedrock-mantle`): Anthropic request and response shapes, SSE streams. Validation is the same
   * as InvokeModel's, on the equivalent body.
   */
  async function messagesApi(ctx: RequestContext, count: boolean, fault: FaultKind | undefined): Promise<void> {
    const raw = parseJson(ctx.body);
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw validationError('The request body must be a JSON object.');
    const { model: modelId, stream, ...rest } = raw as Record<string, unknown>;
    if (typeof modelId !== 'string') throw validationError('model: Field required');
    const betaHeader = ctx.req.headers['anthropic-beta'];
    const betas = typeof betaHeader === 'string' ? betaHeader.split(',').map((b) => b.trim()).filter(Boolean) : [];
    const equivalent = { anthropic_version: catalog.data.anthropicVersion, ...(betas.length ? { anthropic_beta: betas } : {}), ...(count ? { max_tokens: 1 } : {}), ...rest };
    record({ operation: count ? 'mantle-count-tokens' : 'mantle-messages', modelId, region: ctx.region, headers: redact(ctx.req.headers), body: raw });
    const { model } = validate(equivalent, modelId, ctx.region, count ? 'count-tokens' : 'invoke');
    const message = respond(equivalent, responseModelName(model, modelId), await applyScript(modelId, equivalent));
    if (count) {
      sendJson(ctx.res, 200, { input_tokens: message.usage.input_tokens }, { 'request-id': ctx.requestId });
      return;
    }
    if (stream !== true) {
      sendJson(ctx.res, 200, message, { 'request-id': ctx.requestId });
      return;
    }
    (ctx.res as ServerResponse).writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'request-id': ctx.requestId });
    const events = streamEvents(message, options.deltaChars);
    const sse = function* () {
      for (const e of events) yield sseEvent(String(e['type']), JSON.stringify(e));
    };
    await writeFrames(ctx, sse(), settingsFor(faults, ctx.region).gap, fault === 'midstream' ? Math.floor(events.length / 2) : undefined, sseError('api_error', MIDSTREAM_MESSAGE));
  }

  async function countTokens(ctx: RequestContext, modelId: string): Promise<void> {
    const wrapper = parseJson(ctx.body);
    const inner = fromCountTokensBody(wrapper);
    record({ operation: 'count-tokens', modelId, region: ctx.region, headers: redact(ctx.req.headers), body: inner });
    validate(inner, modelId, ctx.region, 'count-tokens');
    const message = respond(inner, modelId);
    sendJson(ctx.res, 200, { inputTokens: message.usage.input_tokens }, { 'x-amzn-requestid': ctx.requestId });
  }

  function inferenceProfiles(ctx: RequestContext): void {
    const url = new URL(ctx.req.url ?? '/', 'http://localhost');
    const type = url.searchParams.get('type') ?? 'SYSTEM_DEFINED';
    const summaries = type === 'APPLICATION' ? [] : systemInferenceProfiles(ctx.region, catalog, EMULATOR_ACCOUNT);
    sendJson(ctx.res, 200, { inferenceProfileSummaries: summaries }, { 'x-amzn-requestid': ctx.requestId });
  }

  async function handle(req: Req, res: Res): Promise<void> {
    const requestId = randomUUID();
    const started = performance.now();
    const url = req.url ?? '/';
    const pathname = url.split('?')[0]!;
    if (req.method === 'GET' && pathname === '/healthz') {
      sendJson(res, 200, { status: 'ok', service: 'bedrock-claude emulator' });
      return;
    }
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY) {
        sendBedrockError(res, validationError(`Input is too long: the request body exceeds ${MAX_BODY} bytes.`, 413), requestId);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    }
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);

    const m = /^\/model\/([^/]+)\/(invoke|invoke-with-response-stream|count-tokens|converse|converse-stream)$/.exec(pathname);
    const isProfiles = req.method === 'GET' && pathname === '/inference-profiles';
    const mantle = req.method === 'POST' && /^\/anthropic\/v1\/messages(\/count_tokens)?$/.test(pathname);
    if (!isProfiles && !mantle && (!m || req.method !== 'POST')) {
      sendJson(res, 404, { message: `No route for ${req.method} ${pathname}.` }, { 'x-amzn-errortype': 'UnknownOperationException:http://internal.amazon.com/coral/com.amazon.coral.service/', 'x-amzn-requestid': requestId });
      return;
    }

    let region = regionFromHost(req.headers.host ?? (req.headers[':authority'] as string | undefined)) ?? defaultRegion;
    if (verifySignatures) {
      const caller = await verify(req.method ?? 'GET', url, req.headers, body, mantle ? 'bedrock-mantle' : 'bedrock');
      if (caller.region) region = caller.region;
    }
    if (!isRegionName(region)) throw validationError(`Unknown region ${region}.`);
    const ctx: RequestContext = { req, res, requestId, region, body, started };

    const fault = forcedFault(req) ?? drawFault(settingsFor(faults, region), random, m?.[2]?.endsWith('stream') ?? false);
    const settings = settingsFor(faults, region);
    await sleep(settings.ttfb + settings.latency + (fault === 'slow' ? slowMs : 0));
    if (fault === 'reset') {
      record({ operation: m?.[2] ?? 'inference-profiles', modelId: m ? safeDecode(m[1]!) : '', region, headers: redact(req.headers), body: undefined, fault });
      dropResponse(res);
      return;
    }
    const faultError = fault ? FAULT_ERRORS[fault] : undefined;
    if (faultError) {
      // Faulted requests count as received too: tests assert on retries and failovers.
      record({ operation: m?.[2] ?? 'inference-profiles', modelId: m ? safeDecode(m[1]!) : '', region, headers: redact(req.headers), body: undefined, fault: fault! });
      throw faultError();
    }

    if (isProfiles) {
      inferenceProfiles(ctx);
      return;
    }
    if (mantle) return messagesApi(ctx, pathname.endsWith('/count_tokens'), fault);
    let modelId: string;
    try {
      modelId = decodeURIComponent(m![1]!);
    } catch {
      throw validationError('The provided model identifier is invalid.');
    }
    const operation = m![2]!;
    if (operation === 'count-tokens') return countTokens(ctx, modelId);
    if (operation.startsWith('converse')) return converse(ctx, modelId, operation, fault);
    return invoke(ctx, modelId, operation, fault);
  }

  const onRequest = (req: Req, res: Res) => {
    handle(req, res).catch((err: unknown) => {
      const e = err instanceof BedrockClaudeError ? err : new BedrockClaudeError('The system encountered an unexpected error during processing. Try your request again.', { status: 500, type: 'api_error', bedrockType: 'InternalServerException', cause: err });
      sendBedrockError(res, e, randomUUID());
    });
  };
  const { server, sockets } = createDualProtocolServer(onRequest, { keepAliveTimeout: 65_000 });
  const { port, url } = await listen(server, options.host ?? '127.0.0.1', options.port ?? 4010);
  return {
    url,
    port,
    server,
    received,
    openConnections: () => sockets.size,
    setFaults(spec) {
      faults = parseFaults(spec);
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function redact(headers: Req['headers']): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (k === 'authorization' || k === 'x-amz-security-token' || k === 'x-api-key') out[k] = '[redacted]';
    else out[k] = v;
  }
  return out;
}
