/**
 * What went wrong in the control-plane store, as a kind the callers act on (the admin API maps each
 * to one status, in one place): no such key or team, a name taken or a team still in use, or the
 * store itself failing (a database gone, a disk full). The message is for a person.
 */
export type StoreErrorKind = 'not_found' | 'conflict' | 'unavailable';

export class StoreError extends Error {
  constructor(
    readonly kind: StoreErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }
}
