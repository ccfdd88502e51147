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
    // PostgreSQL and Redis take credentials as query parameters too (`?password=`, `?sslpassword=`).
    for (const name of [...u.searchParams.keys()]) if (SECRET_PARAM.test(name)) u.searchParams.set(name, '***');
    return u.toString();
  } catch {
    return 'a URL that does not parse';
  }
}

const SECRET_PARAM = /pass|pwd|secret|token|key|auth|credential/i;
