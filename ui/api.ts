// The admin API, called from the page with the admin key as a header (kept in this tab's
// sessionStorage, never in a cookie another site could ride on), or, once signed in through the
// identity provider, with the session's cookie (HttpOnly, SameSite=Strict) and its CSRF token on
// every change.
import type { MeAnswer } from '../src/server/admin-types.js';

const STORAGE = 'bedrock-claude-admin-key';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** Who the page is signed in as, once `/admin/me` said (with the admin key, or the identity provider's session). */
let me: MeAnswer | undefined;

export const session = {
  key: (): string | null => sessionStorage.getItem(STORAGE),
  me: (): MeAnswer | undefined => me,
  signIn: (key: string): void => sessionStorage.setItem(STORAGE, key),
  /** Who `/admin/me` says the page is: the admin key's admin, or the person of the session's cookie. */
  knownAs: (who: MeAnswer): void => void (me = who),
  signOut: (): void => {
    sessionStorage.removeItem(STORAGE);
    me = undefined;
  },
};

/**
 * Calls `/admin/...`; a 401 signs out (the key was wrong or changed). `signal` is the page's: leaving
 * the page aborts what it still waits for.
 */
export async function api<T>(
  method: string,
  path: string,
  body?: unknown,
  opts: { key?: string | null; signal?: AbortSignal } = {},
): Promise<T> {
  const key = opts.key === undefined ? session.key() : opts.key;
  const headers: Record<string, string> = {};
  // With a key, no cookie rides along; without one, the session's cookie does, and a change carries its CSRF token.
  if (key) headers['x-api-key'] = key;
  else if (method !== 'GET' && me?.csrf) headers['x-csrf-token'] = me.csrf;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const init: RequestInit = {
    method,
    headers,
    body: body === undefined ? null : JSON.stringify(body),
    cache: 'no-store',
    credentials: key ? 'omit' : 'same-origin',
  };
  if (opts.signal) init.signal = opts.signal;
  const res = await fetch(path, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const message =
      (json as { error?: { message?: string } } | undefined)?.error?.message ?? `${res.status} ${res.statusText}`;
    if (res.status === 401) session.signOut();
    throw new ApiError(message, res.status);
  }
  return json as T;
}

/** A query string from the values that are set. */
export function qs(params: Record<string, string | number | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

// The answers' types come from the server's own declaration (src/server/admin-types.ts), which the
// admin API checks its answers against: a field renamed there fails this page's typecheck.
export type {
  AuditPage,
  MeAnswer,
  Budget,
  BudgetUse,
  BudgetAlert,
  KeyView as KeyRecord,
  LatencySummary as Latency,
  LedgerRow,
  Limits,
  LiveSnapshot as Live,
  ReportRow as UsageRow,
  SeriesRow,
  TeamRecord,
  CreatedKey,
  List,
  RequestsPage,
  SeriesAnswer,
  UsageAnswer,
} from '../src/server/admin-types.js';
