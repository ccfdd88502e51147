import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { createCredentialCache } from '../src/aws/credentials.js';
import { createBedrockSigner } from '../src/aws/signer.js';
import { EMULATOR_CREDENTIALS } from '../src/emulator/emulator.js';
import { toAnthropicSse, toBedrockEventStream } from '../src/translate/encode-stream.js';
import { emptySummary, type StreamSummary } from '../src/translate/to-sse.js';
import type { MessagesResult } from '../src/transport/bedrock-transport.js';
import pino from 'pino';
import { startGateway, type GatewayOptions, type RunningGateway } from '../src/server/gateway.js';

export const CREDS = {
  accessKeyId: EMULATOR_CREDENTIALS.accessKeyId,
  secretAccessKey: EMULATOR_CREDENTIALS.secretAccessKey,
};

/** A gateway in us-west-2 on an emulator, port 0, SigV4 with the emulator's credentials, silent; `extra` on top. */
export function gatewayOn(endpoint: string, extra: Partial<GatewayOptions> = {}): Promise<RunningGateway> {
  return startGateway(
    Object.assign(
      {
        port: 0,
        region: 'us-west-2',
        auth: { kind: 'sigv4' as const, credentials: createCredentialCache(CREDS) },
        endpoint,
        logger: pino({ level: 'silent' }),
      },
      extra,
    ),
  );
}

/** Sends a SigV4-signed request to a base URL, as a Bedrock client would. */
export async function signedRequest(
  base: string,
  path: string,
  body: unknown,
  opts: { region?: string; method?: string; headers?: Record<string, string>; secret?: string; raw?: string } = {},
) {
  const region = opts.region ?? 'us-west-2';
  const sign = createBedrockSigner({
    region,
    auth: {
      kind: 'sigv4',
      credentials: createCredentialCache({
        accessKeyId: CREDS.accessKeyId,
        secretAccessKey: opts.secret ?? CREDS.secretAccessKey,
      }),
    },
  });
  const url = new URL(base);
  const [pathname, search] = path.split('?');
  url.pathname = pathname!;
  if (search) url.search = search;
  const payload = opts.raw ?? (body === undefined ? '' : JSON.stringify(body));
  const headers = await sign({
    method: opts.method ?? 'POST',
    url,
    headers: { 'content-type': 'application/json', ...opts.headers },
    body: payload,
  });
  const res = await request(url, {
    method: (opts.method ?? 'POST') as 'POST',
    headers,
    body: opts.method === 'GET' ? null : payload,
  });
  const bytes = Buffer.from(await res.body.arrayBuffer());
  return {
    status: res.statusCode,
    headers: res.headers,
    bytes,
    text: bytes.toString('utf8'),
    json: () => JSON.parse(bytes.toString('utf8')) as Record<string, unknown>,
  };
}

export function tempHome(): string {
  return mkdtempSync(join(tmpdir(), 'bedrock-claude-home-'));
}

/** A transport result with its stream encoded for a front: `sse` (Anthropic SSE) and the `summary` it fills. */
export function encoded<R extends MessagesResult>(
  result: R,
  as: 'sse' | 'eventstream' = 'sse',
): R & { sse: AsyncIterable<Uint8Array>; summary: StreamSummary } {
  const summary = emptySummary();
  const sse =
    result.kind === 'stream'
      ? as === 'sse'
        ? toAnthropicSse(result, summary)
        : toBedrockEventStream(result, summary)
      : (async function* () {})();
  return Object.assign(result, { sse, summary });
}

/** A small Messages call to a gateway with a key (Haiku 4.5 unless named); its status, the body read. */
export async function callWithKey(base: string, key: string, model = 'claude-haiku-4-5'): Promise<number> {
  const { request } = await import('undici');
  const res = await request(`${base}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': key, 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
  });
  await res.body.text();
  return res.statusCode;
}

/** A POST to a gateway's admin API with its admin key; the answer's JSON. */
export async function adminPost<T = { key: string }>(base: string, adminKey: string, path: string, body: unknown) {
  const { request } = await import('undici');
  const res = await request(`${base}${path}`, {
    method: 'POST',
    headers: { 'x-api-key': adminKey, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return (await res.body.json()) as T;
}
