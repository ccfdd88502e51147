import type { Catalog, ModelEntry } from '../catalog/catalog.js';
import { isRegionName } from '../catalog/regions.js';
import { findModelForId } from '../catalog/resolve-model.js';
import { checkRequest } from '../check/check-request.js';
import { BedrockClaudeError, invalidRequest } from '../errors.js';
import { StateKey, type Ctx, type RequestHeaders, type Stage } from '../server/pipeline.js';
import { BEDROCK_ERRORS, type BedrockErrorKind } from '../translate/bedrock-errors.js';
import { drawFault, FAULT_KINDS, type FaultKind, type FaultSettings } from './faults.js';
import type { createAuthVerifier } from './verify-auth.js';
import { checkEndpointModel, endpointOf, servicesFor, type MessagesEndpoint } from './messages-endpoints.js';

/** A request the emulator received (authorization stripped), for tests to assert on. */
export interface ReceivedRequest {
  operation: string;
  modelId: string;
  region: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  /** The fault injected instead of an answer, if any. */
  fault?: FaultKind;
  /** Which Messages-API endpoint it reached (bedrock-runtime's `/anthropic`, bedrock-mantle, Claude Platform). */
  endpoint?: MessagesEndpoint;
}

export const sleep = (ms: number) => (ms > 0 ? new Promise<void>((r) => setTimeout(r, ms)) : Promise.resolve());

/** The fault a request drew, left by the fault stage for the fake model. */
const FAULT = new StateKey<FaultKind>('emulator-fault');

export function faultOf(ctx: Ctx): FaultKind | undefined {
  return ctx.get(FAULT);
}

const AWS_HOST = /^bedrock(?:-runtime)?(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com/;
const API_AWS_HOST = /^(?:bedrock-mantle|aws-external-anthropic)\.([a-z0-9-]+)\.api\.aws/;

function regionFromHost(host: string | undefined): string | undefined {
  return host ? (AWS_HOST.exec(host)?.[1] ?? API_AWS_HOST.exec(host)?.[1]) : undefined;
}

/** The Messages-API endpoint a request reached, left by the auth stage. */
const ENDPOINT = new StateKey<MessagesEndpoint>('emulator-endpoint');

/** What a received request looked like, for tests to assert on: never its credentials. */
export function redact(headers: RequestHeaders): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (k === 'authorization' || k === 'x-amz-security-token' || k === 'x-api-key') out[k] = '[redacted]';
    else out[k] = v;
  }
  return out;
}

function modelIdOf(ctx: Ctx): string {
  const segment = ctx.params[0];
  if (segment === undefined) return '';
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * Checks the caller as Bedrock does (SigV4 over the body, or a Bedrock API key), and works out the
 * region: the signature's scope, else the Host header, else the emulator's own.
 */
export function verifyAuth(
  verify: ReturnType<typeof createAuthVerifier>,
  defaultRegion: string,
  enabled: boolean,
  messagesEndpoint: MessagesEndpoint = 'mantle',
): Stage {
  return async function verifyAuthStage(ctx, next) {
    const spec = ctx.route.spec;
    if (spec.public || (!spec.call && !spec.serve)) return next(ctx);
    const { req } = ctx;
    const host = (req.headers['host'] ?? req.headers[':authority']) as string | undefined;
    let region = regionFromHost(host) ?? defaultRegion;
    let service: string | undefined;
    if (enabled) {
      const caller = await verify(req.method, req.url, req.headers, ctx.body!, servicesFor(spec));
      if (caller.region) region = caller.region;
      service = caller.service;
    }
    const endpoint = endpointOf(spec, service, host, messagesEndpoint);
    if (endpoint) ctx.set(ENDPOINT, endpoint);
    if (!isRegionName(region)) throw invalidRequest(`Unknown region ${region}.`);
    ctx.region = region;
    return next(ctx);
  };
}

const FAULT_ERRORS: Partial<Record<FaultKind, keyof typeof BEDROCK_ERRORS>> = {
  throttle: 'ThrottlingException',
  error500: 'InternalServerException',
  unavailable: 'ServiceUnavailableException',
};

/**
 * Injects the request's fault, forced (`x-emulator-fault`) or drawn for its region: the delays
 * first, then a reset, an error in Bedrock's words, or a mark for the fake model (midstream, slow).
 */
export function injectFault(deps: {
  settings: (region: string) => FaultSettings;
  random: () => number;
  slowMs: number;
  record: (entry: ReceivedRequest) => void;
}): Stage {
  return async function faultStage(ctx, next) {
    const spec = ctx.route.spec;
    if (spec.public || (!spec.call && !spec.serve)) return next(ctx);
    const region = ctx.region!;
    const settings = deps.settings(region);
    const forced = ctx.req.headers['x-emulator-fault'];
    const wanted = Array.isArray(forced) ? forced[0] : forced;
    const fault =
      wanted && (FAULT_KINDS as readonly string[]).includes(wanted)
        ? (wanted as FaultKind)
        : drawFault(settings, deps.random, spec.operation?.endsWith('stream') ?? false);
    await sleep(settings.ttfb + settings.latency + (fault === 'slow' ? deps.slowMs : 0));
    const name = fault && FAULT_ERRORS[fault];
    if (fault === 'reset' || name) {
      // Faulted requests count as received too: tests assert on retries and failovers.
      deps.record({
        operation: spec.operation ?? 'inference-profiles',
        modelId: modelIdOf(ctx),
        region,
        headers: redact(ctx.req.headers),
        body: undefined,
        fault,
      });
      if (fault === 'reset') {
        ctx.reply = { status: 0, headers: {}, body: undefined, drop: true };
        return;
      }
      const kind: BedrockErrorKind = BEDROCK_ERRORS[name!];
      throw new BedrockClaudeError(kind.message!, { status: kind.status, type: kind.type, bedrockType: name });
    }
    if (fault) ctx.set(FAULT, fault);
    return next(ctx);
  };
}

const PLATFORM_SKIPS = new Set(['on-demand-not-supported', 'model-not-in-region', 'model-id-format']);

/** The path preflight rules know an operation by (the native Messages path validates as InvokeModel does). */
function checkPath(operation: string | undefined): string {
  return operation === 'mantle-count-tokens'
    ? 'count-tokens'
    : operation === 'mantle-messages'
      ? 'invoke'
      : (operation ?? 'invoke');
}

/** Records what arrived, then refuses it exactly where Bedrock would, in Bedrock's words. */
export function validate(
  catalog: Catalog,
  record: (entry: ReceivedRequest) => void,
  allowed: (model: ModelEntry | undefined) => boolean = () => true,
  mantleQuotas?: (body: Record<string, unknown>) => void,
): Stage {
  return function validateStage(ctx, next) {
    const call = ctx.call!;
    const operation = ctx.route.spec.operation!;
    const endpoint = ctx.get(ENDPOINT);
    record({
      operation,
      modelId: call.model,
      region: ctx.region!,
      headers: redact(ctx.req.headers),
      body: call.wire ?? call.request.body,
      ...(endpoint ? { endpoint } : {}),
    });
    if (endpoint) checkEndpointModel(endpoint, call.model, ctx.req.headers['anthropic-workspace-id'], catalog);
    const path = checkPath(operation);
    const diagnostics = checkRequest({
      format: 'bedrock',
      body: call.request.body,
      model: call.model,
      region: ctx.region,
      path,
      catalog,
    });
    // CountTokens and bedrock-mantle take the foundation model ID, so the on-demand rule does not apply to them
    // (bedrock-runtime's `/anthropic` path is judged as InvokeModel is); Claude Platform takes Anthropic names.
    const bareIdOk = path === 'count-tokens' || endpoint === 'mantle';
    const failing = diagnostics.find(
      (d) =>
        d.severity === 'error' &&
        d.bedrock &&
        !(bareIdOk && d.code === 'on-demand-not-supported') &&
        !(endpoint === 'platform' && PLATFORM_SKIPS.has(d.code)),
    );
    if (failing?.bedrock)
      throw new BedrockClaudeError(failing.bedrock.message, {
        status: failing.bedrock.status,
        type: 'invalid_request_error',
        bedrockType: failing.bedrock.exception,
      });
    const model = findModelForId(call.model, catalog);
    if (endpoint === 'mantle' && mantleQuotas && path !== 'count-tokens') mantleQuotas(call.request.body);
    if (!allowed(model))
      throw new BedrockClaudeError("You don't have access to the model with the specified model ID.", {
        status: 403,
        type: 'permission_error',
        bedrockType: 'AccessDeniedException',
      });
    ctx.targets = [{ region: ctx.region!, modelId: call.model, model }];
    return next(ctx);
  };
}
