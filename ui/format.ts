// How the dashboard writes numbers and times: pure functions, tested in test/ui/logic.test.ts.

export const usd = (n: number): string => (n === 0 ? '$0' : n < 0.01 ? `$${n.toFixed(6)}` : `$${n.toFixed(2)}`);
export const int = (n: number): string => Math.round(n).toLocaleString('en-US');
export const ms = (n: number | null | undefined): string =>
  n === null || n === undefined ? '–' : n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${n.toFixed(0)} ms`;
export const pct = (n: number): string => `${(n * 100).toFixed(1)}%`;

/** A local time as `YYYY-MM-DD HH:MM:SS` (to the minute, or the day, when `to` says so). */
export function when(t: number | null | undefined, to: 'second' | 'minute' | 'day' = 'second'): string {
  if (t === null || t === undefined) return '–';
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, '0');
  const day = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  if (to === 'day') return day;
  const minute = `${day} ${p(d.getHours())}:${p(d.getMinutes())}`;
  return to === 'minute' ? minute : `${minute}:${p(d.getSeconds())}`;
}
