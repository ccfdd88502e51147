import { request } from 'undici';
import type { BedrockAuth } from './credentials.js';
import { bedrockEndpoint, createBedrockSigner } from './signer.js';
import { fromBedrockError } from '../translate/errors.js';

type Json = Record<string, unknown>;

/**
 * A GET on Bedrock's control plane (`bedrock.{region}.amazonaws.com`, or `endpoint`), signed, its JSON answer or our
 * error.
 */
export async function controlPlaneGet(
  region: string,
  auth: BedrockAuth,
  path: string,
  endpoint?: string,
  timeoutMs = 15_000,
): Promise<Json> {
  const url = new URL(path, endpoint ?? bedrockEndpoint(region, 'control'));
  const headers = await createBedrockSigner({ region, auth })({
    method: 'GET',
    url,
    headers: { accept: 'application/json' },
    body: '',
  });
  const res = await request(url, { method: 'GET', headers, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const text = await res.body.text();
  if (res.statusCode !== 200)
    throw fromBedrockError(res.statusCode, res.headers['x-amzn-errortype'] as string | undefined, text);
  return JSON.parse(text) as Json;
}

/** The AWS Price List's public bulk offers (no signature), or `endpoint` (an emulator). */
export const PRICE_LIST_ENDPOINT = 'https://pricing.us-east-1.amazonaws.com';

/** One region's bulk offer file for a service, parsed (at most 64 MB). */
export async function priceListOffer(
  service: string,
  region: string,
  endpoint = PRICE_LIST_ENDPOINT,
  timeoutMs = 60_000,
): Promise<unknown> {
  const url = new URL(`/offers/v1.0/aws/${service}/current/${encodeURIComponent(region)}/index.json`, endpoint);
  const res = await request(url, { method: 'GET', headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new Error(`the AWS Price List answered ${res.statusCode} for ${url.pathname}`);
  }
  const length = Number(res.headers['content-length'] ?? 0);
  if (length > 64 * 1024 * 1024) {
    await res.body.dump();
    throw new Error(`the AWS Price List offer for ${region} is larger than 64 MB`);
  }
  return res.body.json();
}
