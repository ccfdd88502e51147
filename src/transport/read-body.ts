import type { Dispatcher } from 'undici';

/** The upstream's answer body, as undici hands it over. */
export type UpstreamBody = Dispatcher.ResponseData['body'];

const ignore = () => undefined;

/**
 * The bytes as an iterable that yields them once and then holds no reference to them. undici takes
 * an Iterable body (its Dispatcher docs say so; its type definitions leave it out).
 */
export function oneShot(bytes: Buffer): Iterable<Buffer> {
  let held: Buffer | undefined = bytes;
  return {
    [Symbol.iterator]: () => ({
      next: (): IteratorResult<Buffer> => {
        const value = held;
        held = undefined;
        return value ? { value, done: false } : { value: undefined, done: true };
      },
    }),
  };
}

const utf8 = new TextEncoder();

/** A string's UTF-8 bytes in a buffer of their own (not a slice of Buffer's shared pool). */
export function ownBytes(text: string): Buffer {
  const bytes = utf8.encode(text);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function timeoutError(code: string, ms: number): Error {
  return Object.assign(new Error(`no ${code === 'UND_ERR_HEADERS_TIMEOUT' ? 'first byte' : 'data'} for ${ms} ms`), {
    code,
  });
}

/**
 * A response body's chunks, pulled in paused mode (`read()` on demand), failing with a body timeout
 * when the body stays silent for `ms` (an idle gap inside a stream). One timer, refreshed per chunk;
 * no stream iterator and no promise per chunk that is already buffered.
 */
export function readChunks(
  body: UpstreamBody,
  ms: number,
): AsyncIterableIterator<Uint8Array> & { return(): Promise<IteratorResult<Uint8Array>> } {
  const DONE: IteratorResult<Uint8Array> = { value: undefined, done: true };
  let waiting: { resolve: (r: IteratorResult<Uint8Array>) => void; reject: (e: unknown) => void } | undefined;
  let ended = body.readableEnded;
  let failure: unknown =
    body.errored ?? (body.destroyed && !ended ? new Error('The upstream body was closed.') : undefined);
  const timer = setTimeout(() => {
    const e = timeoutError('UND_ERR_BODY_TIMEOUT', ms);
    body.destroy(e);
    fail(e);
  }, ms);
  timer.unref();
  function take(): IteratorResult<Uint8Array> | undefined {
    const chunk = body.read() as Uint8Array | null;
    if (chunk !== null) {
      timer.refresh();
      return { value: chunk, done: false };
    }
    return ended ? DONE : undefined;
  }
  function settle(): void {
    if (!waiting) return;
    const w = waiting;
    if (failure !== undefined) {
      waiting = undefined;
      w.reject(failure);
      return;
    }
    const result = take();
    if (result) {
      waiting = undefined;
      w.resolve(result);
    }
  }
  function fail(err: unknown): void {
    if (failure === undefined) failure = err;
    clearTimeout(timer);
    settle();
  }
  const onEnd = () => {
    ended = true;
    settle();
  };
  const onClose = () => {
    if (!ended) fail(body.errored ?? new Error('The upstream body was closed.'));
  };
  body.on('readable', settle);
  body.on('end', onEnd);
  body.on('error', fail);
  body.on('close', onClose);
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    clearTimeout(timer);
    body.off('readable', settle);
    body.off('end', onEnd);
    body.off('close', onClose);
    // An error after this (the body destroyed late) must still have a listener, or it would crash the process.
    body.off('error', fail);
    body.on('error', ignore);
  };
  return {
    next() {
      if (failure !== undefined) return Promise.reject(failure);
      const result = take();
      if (result === DONE) stop();
      if (result) return Promise.resolve(result);
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
      });
    },
    return() {
      stop();
      return Promise.resolve(DONE);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** Resolves a promise, or fails with a body timeout after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, body: UpstreamBody): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const e = timeoutError('UND_ERR_BODY_TIMEOUT', ms);
      body.destroy(e);
      reject(e);
    }, ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
