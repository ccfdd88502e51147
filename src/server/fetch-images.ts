import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { Agent, fetch, type Dispatcher } from 'undici';
import { BedrockClaudeError } from '../errors.js';
import type { AbortLike } from '../transport/abort.js';

/** Fetching `image_url`s that are web addresses (off unless configured). */
export interface ImageFetchOptions {
  /** The largest image fetched, in bytes (Bedrock takes up to 3.75 MB an image). */
  maxBytes: number;
  timeoutMs?: number | undefined;
  /** Where requests go (tests use undici's MockAgent); default: an agent whose DNS lookup refuses private addresses. */
  dispatcher?: Dispatcher | undefined;
}

/** Addresses an image is never fetched from: loopback, private, link-local, carrier NAT, multicast, reserved. */
const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv6');

/** Whether an address is one no image may be fetched from (IPv4-mapped IPv6 checked as the IPv4 it is). */
export function isPrivateAddress(address: string): boolean {
  const mapped =
    /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] ?? /^64:ff9b::(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return PRIVATE.check(mapped, 'ipv4');
  const family = isIP(address);
  return family === 0 || PRIVATE.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

function refused(message: string): BedrockClaudeError {
  return new BedrockClaudeError(message, {
    status: 400,
    type: 'invalid_request_error',
    fix: 'Send the image inline as a data URL (data:image/png;base64,...).',
  });
}

/**
 * A DNS lookup that refuses private addresses, so a redirect or a rebinding DNS answer cannot reach the gateway's
 * network.
 */
function guardedLookup(
  hostname: string,
  options: object,
  callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
): void {
  dnsLookup(hostname, Object.assign({}, options, { all: true as const }), (err, addresses) => {
    if (err) return callback(err, []);
    const bad = addresses.find((a) => isPrivateAddress(a.address));
    if (bad || !addresses.length)
      return callback(Object.assign(new Error(`${hostname} resolves to a private address`), { code: 'EPRIVATE' }), []);
    const all = (options as { all?: boolean }).all;
    return all ? callback(null, addresses) : callback(null, addresses[0]!.address, addresses[0]!.family);
  });
}

let agent: Agent | undefined;

const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

async function fetchOne(
  url: string,
  options: ImageFetchOptions,
  signal: AbortLike,
): Promise<{ media_type: string; data: string }> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw refused(`The image URL ${JSON.stringify(url.slice(0, 200))} is not valid.`);
  }
  checkHop(parsed);
  const dispatcher =
    options.dispatcher ??
    (agent ??= new Agent({ connect: { lookup: guardedLookup as never }, headersTimeout: 10_000, bodyTimeout: 10_000 }));
  const controller = new AbortController();
  const stop = () => controller.abort();
  const timer = setTimeout(stop, options.timeoutMs ?? 10_000);
  signal.addEventListener('abort', stop, { once: true });
  try {
    return await read(parsed, options, controller.signal, dispatcher);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', stop);
  }
}

/**
 * One hop's URL checked before it is fetched: http or https only, and a literal IP never a private one (a host name
 * is checked by the guarded DNS lookup).
 */
function checkHop(url: URL): void {
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw refused(`Images are fetched over http or https only, not ${url.protocol.slice(0, 20)}`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) && isPrivateAddress(host)) throw refused('Images are not fetched from private addresses.');
}

const MAX_REDIRECTS = 5;

/**
 * Fetches, following redirects by hand so that every hop is checked (undici calls the DNS guard for names only, so
 * a redirect to a literal private IP would otherwise go through). What a refused answer was (its status, its
 * content type) is not said: the gateway is no oracle for what answers where.
 */
async function openHop(first: URL, signal: AbortSignal, dispatcher: Dispatcher) {
  let url = first;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    let res;
    try {
      res = await fetch(url, { dispatcher, signal, redirect: 'manual' });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      throw refused(
        cause?.code === 'EPRIVATE'
          ? 'Images are not fetched from private addresses.'
          : `The image at ${first.host} could not be fetched.`,
      );
    }
    const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null;
    if (!location) return res;
    await res.body?.cancel().catch(() => undefined);
    try {
      url = new URL(location, url);
    } catch {
      throw refused(`The image at ${first.host} could not be fetched.`);
    }
    checkHop(url);
  }
  throw refused(`The image at ${first.host} redirects more than ${MAX_REDIRECTS} times.`);
}

async function read(
  parsed: URL,
  options: ImageFetchOptions,
  signal: AbortSignal,
  dispatcher: Dispatcher,
): Promise<{ media_type: string; data: string }> {
  const res = await openHop(parsed, signal, dispatcher);
  const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (!res.ok || !IMAGE_TYPES.has(type)) {
    await res.body?.cancel().catch(() => undefined);
    throw refused(`The URL ${parsed.host}${parsed.pathname} did not answer with a PNG, JPEG, GIF or WebP image.`);
  }
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body!) {
    size += chunk.length;
    if (size > options.maxBytes) {
      await res.body?.cancel().catch(() => undefined);
      throw refused(`The image at ${parsed.host} is larger than ${options.maxBytes} bytes.`);
    }
    parts.push(Buffer.from(chunk));
  }
  return { media_type: type, data: Buffer.concat(parts).toString('base64') };
}

/** Replaces each URL image source in a Messages body (its own, freshly built) with the fetched image's bytes. */
export async function fetchImages(
  body: Record<string, unknown>,
  options: ImageFetchOptions,
  signal: AbortLike,
): Promise<void> {
  const sources: Array<Record<string, unknown>> = [];
  const visit = (blocks: unknown): void => {
    if (!Array.isArray(blocks)) return;
    for (const b of blocks as Array<Record<string, unknown>>) {
      const source = b['source'] as Record<string, unknown> | undefined;
      if (b['type'] === 'image' && source?.['type'] === 'url') sources.push(source);
      if (b['type'] === 'tool_result') visit(b['content']);
    }
  };
  for (const m of body['messages'] as Array<{ content: unknown }>) visit(m.content);
  const fetched = await Promise.all(sources.map((s) => fetchOne(String(s['url']), options, signal)));
  sources.forEach((s, i) => {
    delete s['url'];
    Object.assign(s, { type: 'base64' }, fetched[i]);
  });
}
