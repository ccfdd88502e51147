import { BedrockClaudeError } from '../../errors.js';
import type { Ctx } from '../pipeline.js';

/**
 * Who may call a gateway without keys: its own machine. A web page the developer visits must not spend through it
 * (a cross-site POST, a DNS-rebound name), so model routes refuse a `Host` that is not a loopback name or one the
 * operator named, any cross-site `Origin`, and the body types a browser may send without asking (a form, text).
 */
export interface KeylessPolicy {
  /** Host names served besides loopback ones (the public URL's); `*` serves any (`--insecure-no-auth`). */
  hosts: readonly string[];
}

const LOOPBACK = /^(localhost|[a-z0-9-]+\.localhost|127(?:\.\d{1,3}){3}|\[?::1\]?)$/i;

/** The host name of a `Host` header or URL authority, lower-cased, without its port. */
function hostName(authority: string): string {
  const a = authority.trim().toLowerCase();
  if (a.startsWith('[')) return a.slice(0, a.indexOf(']') + 1);
  const colon = a.lastIndexOf(':');
  return colon > 0 && a.indexOf(':') === colon ? a.slice(0, colon) : a;
}

function refuse(message: string, fix: string, status = 403): BedrockClaudeError {
  return new BedrockClaudeError(message, {
    status,
    type: status === 415 ? 'invalid_request_error' : 'permission_error',
    fix,
  });
}

/** Why a keyless model call is refused, or undefined. */
export function keylessRefusal(ctx: Ctx, policy: KeylessPolicy): BedrockClaudeError | undefined {
  const headers = ctx.req.headers;
  const authority = String(headers['host'] ?? headers[':authority'] ?? '');
  const host = hostName(authority);
  const named = (h: string) => LOOPBACK.test(h) || policy.hosts.includes(h);
  // No Host at all is not a browser (every browser sends one): an in-process call, an HTTP/1.0 client.
  if (host && !policy.hosts.includes('*') && !named(host))
    return refuse(
      `This gateway has no keys, so it serves only its own machine, and "${host.slice(0, 100)}" is not a ` +
        'loopback name.',
      'Call it as 127.0.0.1 or localhost, name the host in `publicUrl`, or create gateway keys (bedrock-claude keys ' +
        'create NAME).',
    );
  const origin = headers['origin'];
  if (typeof origin === 'string') {
    let originHost: string | undefined;
    try {
      originHost = origin === 'null' ? undefined : hostName(new URL(origin).host);
    } catch {
      originHost = undefined;
    }
    const sameOrigin = originHost !== undefined && originHost === host;
    if (!originHost || !(sameOrigin || named(originHost)))
      return refuse(
        'A web page of another site may not call a gateway without keys.',
        'Call it from a program, not a browser page; or create gateway keys for browser clients.',
      );
  }
  // The body types a browser sends cross-site without a CORS preflight (which this gateway never grants): any other
  // type (JSON, the AWS SDK's octet-stream) cannot come from a page of another site.
  const type = headers['content-type'];
  if (
    typeof type === 'string' &&
    /^(text\/plain|application\/x-www-form-urlencoded|multipart\/form-data)\b/i.test(type.trim())
  )
    return refuse(
      `The body must be JSON (content-type: application/json), not ${type.slice(0, 100)}.`,
      'Send content-type: application/json (curl: -H "content-type: application/json").',
      415,
    );
  return undefined;
}
