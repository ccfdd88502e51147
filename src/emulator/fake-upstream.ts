import type { ModelEntry } from '../catalog/catalog.js';
import { BedrockClaudeError } from '../errors.js';
import { frontOf, type Ctx } from '../server/pipeline.js';
import { chunkEventFrame, exceptionEventFrame, type EventFrame } from '../translate/event-stream.js';
import type { MessagesResult } from '../transport/bedrock-transport.js';
import { lastUserText, respond, streamEvents, type FakeMessage } from './fake-model.js';
import { settingsFor, type FaultKind, type FaultSpec } from './faults.js';
import type { createPromptCache } from './prompt-cache.js';
import type { compileScript } from './script.js';
import { faultOf, sleep } from './stages.js';

const MIDSTREAM_MESSAGE = 'The model stream was interrupted: emulated mid-stream fault.';

interface FakeUpstreamDeps {
  script: ReturnType<typeof compileScript> | undefined;
  promptCache: ReturnType<typeof createPromptCache>;
  /** The fault spec in force (it can change at run time). */
  faults: () => FaultSpec;
  deltaChars: number | undefined;
}

/** The `model` field Bedrock puts in responses: the dated Anthropic name. */
function responseModelName(model: ModelEntry | undefined, modelId: string): string {
  return model?.aliases.find((a) => /\d{8}$/.test(a)) ?? model?.name ?? modelId;
}

/**
 * The fake model as the emulator's upstream: an answer for the call (scripted, or the echo model's, with the
 * prompt cache's usage), or its stream of frames (with the region's gaps and a mid-stream fault).
 */
export function createFakeUpstream(deps: FakeUpstreamDeps): (ctx: Ctx) => Promise<void> {
  return async (ctx) => {
    const call = ctx.call!;
    const body = call.request.body;
    const target = ctx.targets![0]!;
    const info = { target, attempts: 1, removals: [], ttfbMs: 0 };
    let result: MessagesResult;
    if (call.operation === 'count-tokens') {
      const counted = { input_tokens: respond(body, call.model).usage.input_tokens };
      result = Object.assign({ kind: 'json' as const, body: counted, usage: undefined, headers: {} }, info);
    } else {
      const reply = deps.script?.(call.model, lastUserText(body));
      await sleep(reply?.delayMs ?? 0);
      if (reply?.error)
        throw new BedrockClaudeError(reply.error.message, {
          status: reply.error.status,
          type: 'api_error',
          bedrockType: reply.error.type,
        });
      const message = respond(body, responseModelName(target.model, call.model), reply);
      deps.promptCache.apply(body, target.model, call.model, message);
      result = call.stream
        ? Object.assign(
            {
              kind: 'stream' as const,
              wire: 'bedrock-eventstream' as const,
              frames: frames(ctx, message, settingsFor(deps.faults(), ctx.region!).gap, faultOf(ctx), deps.deltaChars),
              headers: {},
            },
            info,
          )
        : Object.assign(
            {
              kind: 'json' as const,
              body: message as unknown as Record<string, unknown>,
              usage: message.usage,
              raw: Buffer.from(JSON.stringify(message)),
              headers: metricsHeaders(ctx, message),
            },
            info,
          );
    }
    ctx.result = result;
    ctx.reply = await frontOf(ctx).encode(ctx, result);
  };
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
  deltaChars: number | undefined,
): AsyncGenerator<EventFrame[]> {
  const events = streamEvents(message, deltaChars);
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
