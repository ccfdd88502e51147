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
import { compose, Ctx, frontOf, type GatewayRequest } from '../server/pipeline.js';
import { createRouteTable } from '../server/route-table.js';
import { bodyLimit, decode } from '../server/stages/call-stages.js';
import { dispatch, errorShape, requestId } from '../server/stages/request-stages.js';
import { chunkEventFrame, exceptionEventFrame, type EventFrame } from '../translate/event-stream.js';
import type { MessagesResult } from '../transport/bedrock-transport.js';
import { EMULATOR_CREDENTIALS } from './default-credentials.js';
import { lastUserText, respond, streamEvents, type FakeMessage } from './fake-model.js';
import { parseFaults, seededRandom, settingsFor, type FaultKind, type FaultSpec } from './faults.js';
import { createEmulatorOpsGroup } from './fronts.js';
import { accessChecker, createControlPlaneGroup } from './control-plane.js';
import { createConverseFront } from '../server/fronts/converse.js';
import { createMantleFront } from '../server/fronts/mantle.js';
import { compileScript } from './script.js';
import { createPromptCache } from './prompt-cache.js';
import { faultOf, injectFault, sleep, validate, verifyAuth, type ReceivedRequest } from './stages.js';
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
  /** Whether usage splits cache writes by TTL (`cache_creation`), as the Anthropic API does (default true). */
  reportCacheSplit?: boolean;
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

const MIDSTREAM_MESSAGE = 'The model stream was interrupted: emulated mid-stream fault.';

/** The `model` field Bedrock puts in responses: the dated Anthropic name. */
function responseModelName(model: ModelEntry | undefined, modelId: string): string {
  return model?.aliases.find((a) => /\d{8}$/.test(a)) ?? model?.name ?? modelId;
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
  const keep = options.keepReceived ?? 200;
  const promptCache = createPromptCache(options.clock ?? Date.now, options.reportCacheSplit ?? true);
  const received: ReceivedRequest[] = [];
  const record = (entry: ReceivedRequest) => {
    received.push(entry);
    if (received.length > keep) received.splice(0, received.length - keep);
  };

  /**
   * The fake model as the upstream: an answer for the call, or its stream of frames (with the region's gaps and a
   * mid-stream fault).
   */
  async function fakeModel(ctx: Ctx): Promise<void> {
    const call = ctx.call!;
    const body = call.request.body;
    const target = ctx.targets![0]!;
    let result: MessagesResult;
    const info = { target, attempts: 1, removals: [], ttfbMs: 0 };
    if (call.operation === 'count-tokens') {
      result = Object.assign(
        {
          kind: 'json' as const,
          body: { input_tokens: respond(body, call.model).usage.input_tokens },
          usage: undefined,
          headers: {},
        },
        info,
      );
    } else {
      const reply = script?.(call.model, lastUserText(body));
      await sleep(reply?.delayMs ?? 0);
      if (reply?.error)
        throw new BedrockClaudeError(reply.error.message, {
          status: reply.error.status,
          type: 'api_error',
          bedrockType: reply.error.type,
        });
      const message = respond(body, responseModelName(target.model, call.model), reply);
      promptCache.apply(body, target.model, call.model, message);
      if (!call.stream) {
        const raw = Buffer.from(JSON.stringify(message));
        result = Object.assign(
          {
            kind: 'json' as const,
            body: message as unknown as Record<string, unknown>,
            usage: message.usage,
            raw,
            headers: metricsHeaders(ctx, message),
          },
          info,
        );
      } else {
        result = Object.assign(
          {
            kind: 'stream' as const,
            wire: 'bedrock-eventstream' as const,
            frames: frames(ctx, message, settingsFor(faults, ctx.region!).gap, faultOf(ctx)),
            headers: {},
          },
          info,
        );
      }
    }
    ctx.result = result;
    ctx.reply = frontOf(ctx).encode(ctx, result);
  }

  function metricsHeaders(ctx: Ctx, message: FakeMessage): Record<string, string> {
    return {
      'x-amzn-bedrock-invocation-latency': String(Math.round(performance.now() - ctx.started)),
      'x-amzn-bedrock-input-token-count': String(message.usage.input_tokens),
      'x-amzn-bedrock-output-token-count': String(message.usage.output_tokens),
      'x-amzn-bedrock-cache-read-input-token-count': String(message.usage.cache_read_input_tokens),
      'x-amzn-bedrock-cache-write-input-token-count': String(message.usage.cache_creation_input_tokens),
    };
  }

  /**
   * The answer's events as chunk frames: the first alone (Bedrock sends it as soon as it exists), `gapMs` apart, cut
   * off halfway by a midstream fault.
   */
  async function* frames(
    ctx: Ctx,
    message: FakeMessage,
    gapMs: number,
    fault: FaultKind | undefined,
  ): AsyncGenerator<EventFrame[]> {
    const events = streamEvents(message, options.deltaChars);
    const cut = fault === 'midstream' ? Math.floor(events.length / 2) : -1;
    const firstByteLatency = Math.round(performance.now() - ctx.started);
    let batch: EventFrame[] = [];
    for (let i = 0; i < events.length; i++) {
      if (i === cut) {
        batch.push(exceptionEventFrame('modelStreamErrorException', MIDSTREAM_MESSAGE));
        break;
      }
      const e = events[i]!;
      if (i === events.length - 1) {
        e['amazon-bedrock-invocationMetrics'] = {
          inputTokenCount: message.usage.input_tokens,
          outputTokenCount: message.usage.output_tokens,
          invocationLatency: Math.round(performance.now() - ctx.started),
          firstByteLatency,
          cacheReadInputTokenCount: message.usage.cache_read_input_tokens,
          cacheWriteInputTokenCount: message.usage.cache_creation_input_tokens,
        };
      }
      if (i > 0 && gapMs > 0) {
        if (batch.length) yield batch;
        batch = [];
        await sleep(gapMs);
      }
      batch.push(chunkEventFrame(JSON.stringify(e)));
      if (i === 0) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length) yield batch;
  }

  const anthropicVersion = catalog.data.anthropicVersion;
  const invoke = createBedrockFront({ catalog, region: defaultRegion, account: EMULATOR_ACCOUNT, asBedrock: true });
  const allowed = accessChecker(catalog, options.notEnabled);
  const control = createControlPlaneGroup({ catalog, region: defaultRegion, account: EMULATOR_ACCOUNT, allowed });
  const fronts: Front[] = [
    createConverseFront({ catalog, anthropicVersion, asBedrock: true }),
    createMantleFront({ anthropicVersion, asBedrock: true }),
    invoke,
  ];
  const table = createRouteTable([createEmulatorOpsGroup(), control, ...fronts], invoke);
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
  const random = seededRandom(options.seed ?? 1);
  const chain = compose(
    [
      requestId(randomUUID, undefined, 'x-amzn-requestid'),
      errorShape(undefined, internal),
      bodyLimit(MAX_BODY, tooLarge),
      verifyAuth(verify, defaultRegion, options.verifySignatures ?? true),
      injectFault({
        settings: (region) => settingsFor(faults, region),
        random,
        slowMs: options.slowMs ?? 3000,
        record,
      }),
    ],
    dispatch(compose([decode, validate(catalog, record, allowed)], fakeModel), notFound),
  );
  const handle = (req: GatewayRequest) => {
    const ctx = new Ctx(req, table.match(req.method, req.url.split('?')[0]!), performance.now(), Date.now());
    return chain(ctx).then(() => ({ reply: ctx.reply!, finish: () => undefined }));
  };
  const ignore = () => undefined;
  const { server, sockets } = createDualProtocolServer(
    nodeHandler(handle, undefined, { started: ignore, ended: ignore }),
    { keepAliveTimeout: 65_000 },
  );
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
