import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, HttpRequest, RequestSigningArguments } from '@smithy/types';
import type { BedrockAuth } from './credentials.js';
import { NodeSha256, sha256Hex } from './node-sha256.js';

/** A request about to be sent: the URL's path must already be percent-encoded as it goes on the wire. */
export interface SignableRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: string | Uint8Array;
}

/** Hosts Bedrock answers on, by region and API. */
export function bedrockEndpoint(region: string, api: 'runtime' | 'control' | 'mantle' = 'runtime'): string {
  if (api === 'mantle') return `https://bedrock-mantle.${region}.api.aws`;
  return api === 'control'
    ? `https://bedrock.${region}.amazonaws.com`
    : `https://bedrock-runtime.${region}.amazonaws.com`;
}

/** One SigV4 signer (node:crypto SHA-256); reuse it across requests. */
export function createSigV4(options: {
  region: string;
  service: string;
  credentials: AwsCredentialIdentity | (() => Promise<AwsCredentialIdentity>);
  applyChecksum?: boolean;
}): SignatureV4 {
  return new SignatureV4({
    service: options.service,
    region: options.region,
    credentials: options.credentials,
    sha256: NodeSha256,
    uriEscapePath: true,
    applyChecksum: options.applyChecksum ?? true,
  });
}

/** Signs a request with a SigV4 signer; returns the headers to send. */
export async function signWith(
  signer: SignatureV4,
  request: SignableRequest,
  options: { signingDate?: Date; signableHeaders?: Set<string>; unsignableHeaders?: Set<string> } = {},
): Promise<Record<string, string>> {
  // Plain literals and assignments, no conditional spreads: this runs on every request.
  const toSign: HttpRequest = {
    method: request.method,
    protocol: request.url.protocol,
    hostname: request.url.hostname,
    path: request.url.pathname,
    query: Object.fromEntries(request.url.searchParams),
    headers: request.headers,
    body: request.body,
  };
  if (request.url.port) toSign.port = Number(request.url.port);
  const args: RequestSigningArguments = {};
  if (options.signingDate) args.signingDate = options.signingDate;
  if (options.signableHeaders) args.signableHeaders = options.signableHeaders;
  if (options.unsignableHeaders) args.unsignableHeaders = options.unsignableHeaders;
  const signed = await signer.sign(toSign, args);
  return signed.headers as Record<string, string>;
}

/**
 * Signs requests for Bedrock with the configured auth: a Bedrock API key as `Authorization: Bearer`,
 * or SigV4 (service `bedrock`, or `bedrock-mantle` for Mantle) with cached credentials. The payload
 * hash goes in `x-amz-content-sha256`.
 *
 * @example
 * ```ts
 * const sign = createBedrockSigner({ region: 'us-west-2', auth: resolveBedrockAuth() });
 * const headers = await sign({ method: 'POST', url, headers: { 'content-type': 'application/json' }, body });
 * ```
 */
export function createBedrockSigner(options: { region: string; auth: BedrockAuth; service?: string }) {
  const service = options.service ?? 'bedrock';
  const auth = options.auth;
  const sigv4 =
    auth.kind === 'sigv4'
      ? createSigV4({ region: options.region, service, credentials: () => auth.credentials.get() })
      : undefined;
  return async function sign(request: SignableRequest): Promise<Record<string, string>> {
    // Object.assign, not `{ ...a, b }`: V8 gives that literal a new hidden class on every call.
    const headers: Record<string, string> = Object.assign({}, request.headers, { host: request.url.host });
    if (!sigv4) {
      headers['authorization'] = `Bearer ${(auth as { token: string }).token}`;
      return headers;
    }
    headers['x-amz-content-sha256'] = sha256Hex(request.body);
    return signWith(sigv4, { method: request.method, url: request.url, headers, body: request.body });
  };
}
