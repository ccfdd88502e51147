/** Request headers as callers hand them to the library: any case, values possibly repeated. */
export type HeaderBag = Record<string, string | string[] | undefined> | undefined;

/** A header's value, looked up without regard to case; repeated values joined with a comma. */
export function headerOf(headers: HeaderBag, name: string): string | undefined {
  if (!headers) return undefined;
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === lower) return Array.isArray(v) ? v.join(',') : v;
  }
  return undefined;
}
