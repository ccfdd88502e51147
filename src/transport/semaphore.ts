import type { AbortLike } from './abort.js';

/** A counting semaphore: at most `limit` holders; others wait in order. `limit <= 0` means no limit. */
export function createSemaphore(limit: number) {
  let active = 0;
  const waiting: Array<() => void> = [];
  return {
    async acquire(signal?: AbortLike): Promise<() => void> {
      if (limit > 0 && active >= limit) {
        await new Promise<void>((resolve, reject) => {
          const go = () => {
            signal?.removeEventListener('abort', abort);
            resolve();
          };
          const abort = () => {
            const i = waiting.indexOf(go);
            if (i >= 0) waiting.splice(i, 1);
            reject(signal?.reason ?? new Error('aborted'));
          };
          signal?.addEventListener('abort', abort, { once: true });
          waiting.push(go);
        });
      } else {
        active++;
      }
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const next = waiting.shift();
        if (next)
          next(); // the slot passes straight to the next waiter
        else active--;
      };
    },
    get active() {
      return active;
    },
    get waiting() {
      return waiting.length;
    },
  };
}
