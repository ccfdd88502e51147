/** The Anthropic API's keep-alive event. */
const PING = new TextEncoder().encode('event: ping\ndata: {"type": "ping"}\n\n');

/**
 * An SSE byte stream with `event: ping` after every `everyMs` of silence (Bedrock sends none, and a
 * proxy or client may give up on a quiet stream while the model thinks). One timer for the whole
 * stream, pushed back at each chunk; `everyMs` 0 passes the stream through as it is.
 */
export function withPings(
  source: AsyncIterable<Uint8Array>,
  everyMs: number,
  timer: PingTimer = nodeTimer,
): AsyncIterable<Uint8Array> {
  return everyMs > 0 ? pinging(source, everyMs, timer) : source;
}

/** A restartable timer (node's `setTimeout` with `refresh`; tests drive their own clock). */
export type PingTimer = (fire: () => void, ms: number) => { refresh(): void; clear(): void };

const nodeTimer: PingTimer = (fire, ms) => {
  const t = setTimeout(fire, ms);
  t.unref();
  return { refresh: () => void t.refresh(), clear: () => clearTimeout(t) };
};

async function* pinging(
  source: AsyncIterable<Uint8Array>,
  everyMs: number,
  makeTimer: PingTimer,
): AsyncGenerator<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  let ping: (() => void) | undefined;
  const timer = makeTimer(() => ping?.(), everyMs);
  try {
    for (;;) {
      const next = it.next();
      let step: IteratorResult<Uint8Array> | undefined;
      for (;;) {
        const silence = new Promise<undefined>((resolve) => (ping = () => resolve(undefined)));
        timer.refresh();
        step = await Promise.race([next, silence]);
        if (step) break;
        yield PING;
      }
      ping = undefined;
      if (step.done) return;
      yield step.value;
    }
  } finally {
    timer.clear();
    await it.return?.();
  }
}
