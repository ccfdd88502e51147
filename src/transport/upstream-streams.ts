import { BedrockClaudeError } from '../errors.js';
import { FrameSplitter, frameHeader, type EventFrame } from '../translate/event-stream.js';
import { emptySummary, frameToSse } from '../translate/to-sse.js';
import { readChunks, type UpstreamBody } from './read-body.js';
import type { Target, TransportEvent } from './types.js';
import { networkError } from './upstream-errors.js';

// A streamed answer after its first frame: the frames (or the native Messages API's bytes) as they
// come, errors of the network and timeouts as `BedrockClaudeError`s, the target's slot given back
// and the body destroyed however the stream ends.

const NO_BYTES = new Uint8Array(0);
const NO_FRAMES: EventFrame[] = [];

/** What the stream readers need of their transport: where upstream errors are reported, and the idle timeout. */
export interface StreamDeps {
  onEvent: ((event: TransportEvent) => void) | undefined;
  idleMs: number;
}

/** The frames the next network chunk completes, or undefined at the end of the body. */
async function nextFrames(
  chunks: AsyncIterator<Uint8Array>,
  splitter: FrameSplitter,
): Promise<EventFrame[] | undefined> {
  const next = await chunks.next();
  return next.done ? undefined : splitter.push(next.value);
}

/** Bedrock's exception frames mid-stream count as upstream errors (the front passes them on). */
function reportExceptions(deps: StreamDeps, frames: readonly EventFrame[], target: Target): void {
  if (!deps.onEvent) return;
  for (const frame of frames) {
    if (frameHeader(frame, ':message-type') === 'event') continue;
    try {
      frameToSse(frame, emptySummary());
    } catch (err) {
      if (err instanceof BedrockClaudeError) deps.onEvent({ type: 'upstream_error', target, error: err });
    }
  }
}

/**
 * A stream's frames, a network chunk at a time; a failure of the network or a timeout is thrown as a
 * `BedrockClaudeError`.
 */
export async function* streamFrames(
  deps: StreamDeps,
  firstFrames: EventFrame[],
  splitter: FrameSplitter,
  chunks: ReturnType<typeof readChunks>,
  body: UpstreamBody,
  target: Target,
  release: () => void,
): AsyncGenerator<EventFrame[]> {
  try {
    // The first event goes out on its own, so a big first network chunk does not delay the first byte;
    // then the frames still buffered from that chunk, then a network chunk at a time.
    // Nothing from a chunk is left in a variable while waiting for the next: a generator keeps its
    // variables (stale ones too) while suspended, and a stream can sit idle for minutes.
    let pending: EventFrame[] | undefined = firstFrames;
    firstFrames = NO_FRAMES;
    for (;;) {
      reportExceptions(deps, pending, target);
      yield pending;
      pending = splitter.push(NO_BYTES);
      if (pending.length) continue;
      pending = undefined;
      pending = await nextFrames(chunks, splitter);
      if (!pending) break;
    }
    splitter.end();
  } catch (err) {
    const e = networkError(err, target);
    deps.onEvent?.({ type: 'upstream_error', target, error: e });
    throw e;
  } finally {
    release();
    if (!body.destroyed) body.destroy();
    await chunks.return(undefined);
  }
}

/** The native Messages API's SSE bytes as they come. */
export async function* mantleBytes(
  deps: StreamDeps,
  body: UpstreamBody,
  target: Target,
  release: () => void,
): AsyncGenerator<Uint8Array> {
  try {
    yield* readChunks(body, deps.idleMs);
  } catch (err) {
    const e = networkError(err, target);
    deps.onEvent?.({ type: 'upstream_error', target, error: e });
    throw e;
  } finally {
    release();
    if (!body.destroyed) body.destroy();
  }
}
