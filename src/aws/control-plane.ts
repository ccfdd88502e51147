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
