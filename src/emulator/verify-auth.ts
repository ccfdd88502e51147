import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { SignatureV4 } from '@smithy/signature-v4';
import { createSigV4, signWith } from '../aws/signer.js';
import { sha256Hex } from '../aws/node-sha256.js';
import { BedrockClaudeError } from '../errors.js';

export interface EmulatorCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** What Bedrock's front door says, as an error the emulator answers with (403 in AWS's shape). */
function denied(name: string, message: string, fix?: string): BedrockClaudeError {
  return new BedrockClaudeError(message, {
    status: 403,
    type: name === 'AccessDeniedException' ? 'permission_error' : 'authentication_error',
    bedrockType: name,
    fix,
  });
}

const AUTH_PATTERN = new RegExp(
  '^AWS4-HMAC-SHA256 Credential=([^/,\\s]+)/(\\d{8})/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request,' +
    '\\s*SignedHeaders=([a-z0-9;.:-]+),\\s*Signature=([0-9a-f]{64})$',
);
const MAX_SKEW_MS = 5 * 60_000;
const UNSIGNED_HASH = new Set(['x-amz-content-sha256']);

function one(h: string | string[] | undefined): string | undefined {
  return Array.isArray(h) ? h[0] : h;
}

function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  return m ? new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)) : undefined;
}

export interface VerifiedCaller {
  kind: 'sigv4' | 'bearer';
  /** The region from the SigV4 credential scope. */
  region?: string;
  accessKeyId?: string;
  /** The SigV4 service the request was signed for. */
  service?: string;
}

/** A SigV4 Authorization header, parsed and checked against the credentials, service, date and clock. */
interface SignedRequest {
  cred: EmulatorCredentials;
  accessKeyId: string;
  region: string;
  service: string;
  signedHeaderList: string;
  signedNames: string[];
  signature: string;
  date: Date;
}

/** A request without a signature: a Bedrock API key, or Bedrock's refusal. */
function verifyUnsigned(authorization: string | undefined, headers: IncomingHttpHeaders, keys: Buffer[]) {
  if (!authorization) {
    if (headers['x-api-key'] !== undefined) {
      throw denied(
        'AccessDeniedException',
        'Bedrock does not accept Anthropic API keys (x-api-key). Authenticate with AWS IAM credentials (SigV4) or ' +
          'a Bedrock API key.',
        'Use AnthropicBedrock / the AWS SDK with AWS credentials, or send Authorization: Bearer <Bedrock API key>.',
      );
    }
    throw denied(
      'MissingAuthenticationTokenException',
      'Missing Authentication Token',
      'Sign the request with AWS SigV4 (service bedrock) or send a Bedrock API key as Authorization: Bearer.',
    );
  }
  const given = Buffer.from(authorization.slice(7).trim());
  if (keys.some((k) => k.length === given.length && timingSafeEqual(k, given))) return { kind: 'bearer' as const };
  throw denied(
    'UnrecognizedClientException',
    'Invalid API Key format: Must start with pre-defined prefix',
    'Use a Bedrock API key configured on the emulator (--api-key), or sign with SigV4.',
  );
}

function parseSignature(
  authorization: string,
  headers: IncomingHttpHeaders,
  expectedService: string | readonly string[],
  credentials: readonly EmulatorCredentials[],
  now: number,
): SignedRequest & { amzDate: string } {
  const m = AUTH_PATTERN.exec(authorization);
  if (!m)
    throw denied(
      'IncompleteSignatureException',
      `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters (AWS4-HMAC-SHA256).`,
    );
  const [, accessKeyId, shortDate, region, service, signedHeaderList, signature] = m as unknown as string[] as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const cred = credentials.find((c) => c.accessKeyId === accessKeyId);
  if (!cred)
    throw denied(
      'UnrecognizedClientException',
      'The security token included in the request is invalid.',
      "Use the emulator's access key (see `bedrock-claude emulator --help`).",
    );
  const services = typeof expectedService === 'string' ? [expectedService] : expectedService;
  if (!services.includes(service))
    throw denied('InvalidSignatureException', `Credential should be scoped to correct service: '${services[0]}'.`);
  const { amzDate, date } = checkDate(one(headers['x-amz-date']), shortDate, now);
  const signedNames = signedHeaderList.split(';');
  if (!signedNames.includes('host') && !signedNames.includes(':authority'))
    throw denied('InvalidSignatureException', "'Host' must be a 'SignedHeader' in the AWS Authorization.");
  return { cred, accessKeyId, region, service, signedHeaderList, signedNames, signature, date, amzDate };
}

function checkDate(amzDate: string | undefined, shortDate: string, now: number): { amzDate: string; date: Date } {
  const date = amzDate ? parseAmzDate(amzDate) : undefined;
  if (!amzDate || !date)
    throw denied(
      'IncompleteSignatureException',
      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    );
  if (!amzDate.startsWith(shortDate))
    throw denied(
      'InvalidSignatureException',
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${shortDate}' != ` +
        `'${amzDate.slice(0, 8)}'`,
    );
  if (Math.abs(now - date.getTime()) > MAX_SKEW_MS) {
    throw denied(
      'InvalidSignatureException',
      `Signature expired: ${amzDate} is now earlier or later than the allowed 5 minutes of server time.`,
      'Fix the client clock (NTP).',
    );
  }
  return { amzDate, date };
}

/**
 * The signed headers' values as the client sent them, and the body's hash (checked against the one the client
 * declared): the signer is handed the hash so the body is hashed once; unsigned, it stays out of the signature.
 */
function signedValues(signedNames: readonly string[], headers: IncomingHttpHeaders, body: Buffer) {
  const payloadHash = one(headers['x-amz-content-sha256']);
  const actualHash = sha256Hex(body);
  if (payloadHash && payloadHash !== 'UNSIGNED-PAYLOAD' && payloadHash !== actualHash) {
    throw denied(
      'InvalidSignatureException',
      'The provided x-amz-content-sha256 header does not match what was computed.',
    );
  }
  const toSign: Record<string, string> = {};
  for (const name of signedNames) {
    const value = headers[name];
    if (value === undefined)
      throw denied(
        'InvalidSignatureException',
        `The request signature we calculated does not match the signature you provided: signed header "${name}" ` +
          `is missing.`,
      );
    toSign[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const unsignedHash = !('x-amz-content-sha256' in toSign);
  toSign['x-amz-content-sha256'] = actualHash;
  return { toSign, unsignedHash };
}

/** Whether the request, signed again with the caller's secret, carries the same signature (constant-time). */
async function signatureMatches(
  signer: SignatureV4,
  signed: SignedRequest,
  request: { method: string; url: URL; body: Buffer },
  headers: Record<string, string>,
  unsignedHash: boolean,
): Promise<boolean> {
  const expected = await signWith(
    signer,
    { ...request, headers },
    {
      signingDate: signed.date,
      signableHeaders: new Set(signed.signedNames),
      ...(unsignedHash ? { unsignableHeaders: UNSIGNED_HASH } : {}),
    },
  );
  const got = /Signature=([0-9a-f]{64})/.exec(expected['authorization'] ?? '')?.[1] ?? '';
  const expectedHeaders = /SignedHeaders=([^,]+)/.exec(expected['authorization'] ?? '')?.[1];
  return (
    expectedHeaders === signed.signedHeaderList &&
    got.length === 64 &&
    timingSafeEqual(Buffer.from(got), Buffer.from(signed.signature))
  );
}

/**
 * Verifies a request as Bedrock does: SigV4 (service `bedrock`, scope, region, signed headers,
 * payload hash, clock skew) against known credentials, or a Bedrock API key as a bearer token.
 */
export function createAuthVerifier(options: {
  credentials: EmulatorCredentials[];
  apiKeys: string[];
  now?: () => number;
}) {
  const now = options.now ?? Date.now;
  const signers = new Map<string, SignatureV4>();
  const signerFor = (signed: SignedRequest, sessionToken: string | undefined) => {
    const { cred, region, service } = signed;
    const key = `${cred.accessKeyId}/${region}/${service}/${sessionToken ?? ''}`;
    let s = signers.get(key);
    if (!s) {
      if (signers.size > 1000) signers.clear();
      const credentials = { ...cred, ...(sessionToken ? { sessionToken } : {}) };
      s = createSigV4({ region, service, credentials, applyChecksum: false });
      signers.set(key, s);
    }
    return s;
  };
  const keyBuffers = options.apiKeys.map((k) => Buffer.from(k));

  return async function verify(
    method: string,
    rawUrl: string,
    headers: IncomingHttpHeaders,
    body: Buffer,
    expectedService: string | readonly string[] = 'bedrock',
  ): Promise<VerifiedCaller> {
    const authorization = one(headers['authorization']);
    if (!authorization || authorization.startsWith('Bearer '))
      return verifyUnsigned(authorization, headers, keyBuffers);
    const signed = parseSignature(authorization, headers, expectedService, options.credentials, now());
    const { toSign, unsignedHash } = signedValues(signed.signedNames, headers, body);
    const signer = signerFor(signed, one(headers['x-amz-security-token']));
    const url = new URL(rawUrl, `http://${one(headers['host']) ?? one(headers[':authority']) ?? 'localhost'}`);
    const request = { method, url, body };
    const matches = (h: Record<string, string>) => signatureMatches(signer, signed, request, h, unsignedHash);
    // Some clients (Portkey's gateway 1.15) sign the host without its port; on AWS's port 443 that is
    // the same thing, so the emulator takes it too: only on a mismatch, so correct clients pay nothing.
    const hostWithoutPort = toSign['host']?.replace(/:\d+$/, '');
    const ok =
      (await matches(toSign)) ||
      (hostWithoutPort !== undefined &&
        hostWithoutPort !== toSign['host'] &&
        (await matches({ ...toSign, host: hostWithoutPort })));
    if (!ok) {
      throw denied(
        'InvalidSignatureException',
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access ' +
          'Key and signing method. Consult the service documentation for details.',
        'Check the secret access key and that the request was not changed after signing.',
      );
    }
    return { kind: 'sigv4', region: signed.region, accessKeyId: signed.accessKeyId, service: signed.service };
  };
}
