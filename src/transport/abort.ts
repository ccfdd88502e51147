/** What the transport needs of an abort signal: an `AbortSignal` fits, and so does anything with these four members. */
export interface AbortLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * A one-shot abort signal without an EventTarget. An AbortController builds one per use (~4.5 us
 * and its garbage) for an event that almost never fires; this is a plain object, which undici also
 * takes as a request's signal. Listeners run once, on the first `abort()`.
 */
export class Abort implements AbortLike {
  aborted = false;
  reason: unknown;
  private listeners: Array<() => void> = [];

  addEventListener(_type: 'abort', listener: () => void): void {
    this.listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.listeners.indexOf(listener);
    if (i >= 0) this.listeners.splice(i, 1);
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    for (const listener of this.listeners.splice(0)) listener();
  }
}
