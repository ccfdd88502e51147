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

/** Calls `/admin/...`; a 401 signs out (the key was wrong or changed). */
export async function api<T>(method: string, path: string, body?: unknown, key = session.key()): Promise<T> {
  const headers: Record<string, string> = { 'x-api-key': key ?? '' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? null : JSON.stringify(body), cache: 'no-store', credentials: 'omit' });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const message = (json as { error?: { message?: string } } | undefined)?.error?.message ?? `${res.status} ${res.statusText}`;
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

export interface UsageRow { group: string | null; requests: number; errors: number; inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheWrite5mTokens: number; cacheWrite1hTokens: number; costUsd: number }
export interface SeriesRow { bucket: number; group: string | null; requests: number; errors: number; costUsd: number }
export interface Latency { requests: number; p50LatencyMs: number | null; p95LatencyMs: number | null; p50TtfbMs: number | null; p95TtfbMs: number | null }
export interface Budget { usd: number; period: 'day' | 'week' | 'month' | 'total' }
export interface Limits { rpm?: number; itpm?: number; otpm?: number; concurrency?: number }
export interface KeyRecord { id: string; name: string; user?: string; team?: string; created: number; expires?: number; revoked?: number; models?: string[]; budget?: Budget; limits: Limits; lastUsed: number | null }
export interface TeamRecord { name: string; created: number; budget?: Budget; limits: Limits }
export interface BudgetUse { kind: 'key' | 'team'; id: string; name: string; budget: Budget; spentUsd: number; periodStart: string; periodEnd: string | null }
export interface LedgerRow { requestId: string; time: number; front: string; keyName: string | null; user: string | null; team: string | null; model: string | null; status: number; error: string | null; reason: string | null; streamed: boolean; inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheWrite5mTokens: number; cacheWrite1hTokens: number; costUsd: number; latencyMs: number; ttfbMs: number | null; dropped: string | null }
export interface Live { time: number; inFlight: number; perSecond: number[]; errorsPerSecond: number[]; recentErrors: Array<{ time: number; requestId: string; status: number; error: string | null; reason: string | null; key: string | null; model: string | null; front: string }>; targets: Array<{ target: string; region: string; modelId: string; backend: string; state: string; failures: number }> }
