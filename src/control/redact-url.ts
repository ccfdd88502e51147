/**
 * A server URL as it may be shown in a log, an error or `/readyz`: its password replaced.
 *
 * @example
 * ```ts
 * redactUrl('postgres://gw:s3cret@db:5432/x'); // 'postgres://gw:***@db:5432/x'
 * ```
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'a URL that does not parse';
  }
}
