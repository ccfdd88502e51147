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
  return new ChunkReader(body, ms);
}

const DONE: IteratorResult<Uint8Array> = { value: undefined, done: true };

class ChunkReader implements AsyncIterableIterator<Uint8Array> {
  private waiting: { resolve: (r: IteratorResult<Uint8Array>) => void; reject: (e: unknown) => void } | undefined;
  private ended: boolean;
  private failure: unknown;
  private stopped = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly body: UpstreamBody,
    ms: number,
  ) {
    this.ended = body.readableEnded;
    this.failure =
      body.errored ?? (body.destroyed && !this.ended ? new Error('The upstream body was closed.') : undefined);
    this.timer = setTimeout(() => {
      const e = timeoutError('UND_ERR_BODY_TIMEOUT', ms);
      body.destroy(e);
      this.fail(e);
    }, ms);
    this.timer.unref();
    body.on('readable', this.settle);
    body.on('end', this.onEnd);
    body.on('error', this.fail);
    body.on('close', this.onClose);
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const result = this.take();
    if (result === DONE) this.stop();
    if (result) return Promise.resolve(result);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<Uint8Array>> {
    this.stop();
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  private take(): IteratorResult<Uint8Array> | undefined {
    const chunk = this.body.read() as Uint8Array | null;
    if (chunk !== null) {
      this.timer.refresh();
      return { value: chunk, done: false };
    }
    return this.ended ? DONE : undefined;
  }

  private readonly settle = (): void => {
    const w = this.waiting;
    if (!w) return;
    if (this.failure !== undefined) {
      this.waiting = undefined;
      w.reject(this.failure);
      return;
    }
    const result = this.take();
    if (result) {
      this.waiting = undefined;
      w.resolve(result);
    }
  };

  private readonly fail = (err: unknown): void => {
    if (this.failure === undefined) this.failure = err;
    clearTimeout(this.timer);
    this.settle();
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    this.settle();
  };

  private readonly onClose = (): void => {
    if (!this.ended) this.fail(this.body.errored ?? new Error('The upstream body was closed.'));
  };

  private stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    this.body.off('readable', this.settle);
    this.body.off('end', this.onEnd);
    this.body.off('close', this.onClose);
    // An error after this (the body destroyed late) must still have a listener, or it would crash the process.
    this.body.off('error', this.fail);
    this.body.on('error', ignore);
  }
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
