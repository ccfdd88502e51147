import { randomUUID } from 'node:crypto';
import type { Server } from 'node:net';
import {
  createCatalog,
  getDefaultCatalog,
  type Catalog,
  type CatalogOverrides,
  type ModelEntry,
} from '../catalog/catalog.js';
import { BedrockClaudeError, invalidRequest } from '../errors.js';
import { createBedrockFront } from '../server/fronts/bedrock.js';
import type { Front } from '../server/fronts/front.js';
import { createDualProtocolServer, listen } from '../server/dual-protocol.js';
import { nodeHandler } from '../server/node-binding.js';
import { compose, Ctx, type GatewayRequest } from '../server/pipeline.js';
import { createRouteTable } from '../server/route-table.js';
import { bodyLimit, decode } from '../server/stages/call-stages.js';
import { dispatch, errorShape, requestId } from '../server/stages/request-stages.js';
import { EMULATOR_CREDENTIALS } from './default-credentials.js';
import { parseFaults, seededRandom, settingsFor, type FaultSpec } from './faults.js';
import { createEmulatorOpsGroup } from './fronts.js';
import { accessChecker, createControlPlaneGroup } from './control-plane.js';
import { createConverseFront } from '../server/fronts/converse.js';
import { createMantleFront } from '../server/fronts/mantle.js';
import { compileScript } from './script.js';
import { createMantleQuotas } from './messages-endpoints.js';
import { createPromptCache } from './prompt-cache.js';
import { createFakeUpstream } from './fake-upstream.js';
import { injectFault, validate, verifyAuth, type ReceivedRequest } from './stages.js';
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
  /** The prompt cache's clock (default `Date.now`), for tests of TTLs. */
  clock?: () => number;
  /**
   * Models the account has no access to (names or IDs): calls get AccessDeniedException, GetFoundationModelAvailability
   * says NOT_AUTHORIZED.
   */
  notEnabled?: string[];
  /**
   * Application inference profiles the account has: ID → the system profile or model ID it was made from.
   * `GetInferenceProfile` answers for them as Bedrock does (their models in each region they route to); calls take
   * them.
   */
  applicationProfiles?: Record<string, string>;
  /** Whether usage splits cache writes by TTL (`cache_creation`), as the Anthropic API does (default true). */
  reportCacheSplit?: boolean;
  /**
   * What `/anthropic/v1/messages` is when the caller sends a Bedrock API key and names no host (default `mantle`);
   * a SigV4 caller says it by the service it signs for (`bedrock` for bedrock-runtime, `bedrock-mantle`).
   */
  messagesEndpoint?: 'runtime' | 'mantle';
  /** bedrock-mantle's input and output tokens-per-minute quotas (default: none). */
  mantleQuotas?: { inputTpm: number; outputTpm: number };
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

const tooLarge = (limit: number) =>
  invalidRequest(`Input is too long: the request body exceeds ${limit} bytes.`, undefined, 413);
const internal = (cause: unknown) =>
  new BedrockClaudeError('The system encountered an unexpected error during processing. Try your request again.', {
    status: 500,
    type: 'api_error',
    bedrockType: 'InternalServerException',
    cause,
  });
const notFound = (ctx: Ctx) =>
  new BedrockClaudeError(`No route for ${ctx.req.method} ${ctx.route.pathname}.`, {
    status: 404,
    type: 'not_found_error',
    bedrockType: 'UnknownOperationException',
  });

/** The last `keep` requests received, for tests to inspect. */
function keepLast<T>(keep: number): { received: T[]; record: (entry: T) => void } {
  const received: T[] = [];
  const record = (entry: T) => {
    received.push(entry);
    if (received.length > keep) received.splice(0, received.length - keep);
  };
  return { received, record };
}

/** Bedrock's fronts as the emulator serves them (InvokeModel's the fallback), its probes and control plane. */
function emulatorRoutes(
  catalog: Catalog,
  region: string,
  allowed: (model: ModelEntry | undefined) => boolean,
  applicationProfiles: Record<string, string>,
) {
  const anthropicVersion = catalog.data.anthropicVersion;
  const invoke = createBedrockFront({ catalog, region, account: EMULATOR_ACCOUNT, asBedrock: true });
  const control = createControlPlaneGroup({ catalog, region, account: EMULATOR_ACCOUNT, allowed, applicationProfiles });
  const fronts: Front[] = [
    createConverseFront({ catalog, anthropicVersion, asBedrock: true }),
    createMantleFront({ anthropicVersion, asBedrock: true }),
    createMantleFront({ anthropicVersion, asBedrock: true, basePath: '' }),
    invoke,
  ];
  return createRouteTable([createEmulatorOpsGroup(catalog), control, ...fronts], invoke);
}

/**
 * Starts a local Bedrock Runtime: InvokeModel (and stream), CountTokens, Converse (and stream), the
 * native Messages path and ListInferenceProfiles, with SigV4 checks, Bedrock's validation messages,
 * a deterministic echo model, scripted replies and fault injection. Built from the gateway's pieces:
 * fronts from a route table, stages (auth, faults, validation) and a fake model as the upstream.
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
  const verify = createAuthVerifier({
    credentials: options.credentials ?? [EMULATOR_CREDENTIALS],
    apiKeys: options.apiKeys ?? [],
  });
  let faults =
    typeof options.faults === 'string' || options.faults === undefined ? parseFaults(options.faults) : options.faults;
  const script = options.script === undefined ? undefined : compileScript(options.script);
  const clock = options.clock ?? Date.now;
  const promptCache = createPromptCache(clock, options.reportCacheSplit ?? true);
  const { received, record } = keepLast<ReceivedRequest>(options.keepReceived ?? 200);
  const fakeModel = createFakeUpstream({ script, promptCache, faults: () => faults, deltaChars: options.deltaChars });

  const allowed = accessChecker(catalog, options.notEnabled);
  const table = emulatorRoutes(catalog, defaultRegion, allowed, options.applicationProfiles ?? {});
  const random = seededRandom(options.seed ?? 1);
  const mantleQuotas = options.mantleQuotas && createMantleQuotas(options.mantleQuotas, clock);
  const chain = compose(
    [
      requestId(randomUUID, undefined, 'x-amzn-requestid'),
      errorShape(undefined, internal),
      bodyLimit(MAX_BODY, tooLarge),
      verifyAuth(verify, defaultRegion, options.verifySignatures !== false, options.messagesEndpoint),
      injectFault({
        settings: (region) => settingsFor(faults, region),
        random,
        slowMs: options.slowMs ?? 3000,
        record,
      }),
    ],
    dispatch(compose([decode, validate(catalog, record, allowed, mantleQuotas)], fakeModel), notFound),
  );
  const handle = (req: GatewayRequest) => {
    const ctx = new Ctx(req, table.match(req.method, req.url.split('?')[0]!), performance.now(), Date.now());
    return chain(ctx).then(() => ({ reply: ctx.reply!, finish: () => undefined }));
  };
  const ignore = () => undefined;
  const binding = nodeHandler(handle, undefined, { started: ignore, ended: ignore });
  const { server, sockets } = createDualProtocolServer(binding, { keepAliveTimeout: 65_000 });
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
