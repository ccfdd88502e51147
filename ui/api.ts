// The admin API, called from the page with the admin key as a header (kept in this tab's
// sessionStorage, never in a cookie another site could ride on).

const STORAGE = 'bedrock-claude-admin-key';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export const session = {
  key: (): string | null => sessionStorage.getItem(STORAGE),
  signIn: (key: string): void => sessionStorage.setItem(STORAGE, key),
  signOut: (): void => sessionStorage.removeItem(STORAGE),
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
  const headers: Record<string, string> = { 'x-api-key': (opts.key === undefined ? session.key() : opts.key) ?? '' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const init: RequestInit = {
    method,
    headers,
    body: body === undefined ? null : JSON.stringify(body),
    cache: 'no-store',
    credentials: 'omit',
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
  Budget,
  BudgetUse,
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
