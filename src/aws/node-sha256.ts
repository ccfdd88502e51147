import * as crypto from 'node:crypto';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import type { Checksum, SourceData } from '@smithy/types';

function bytes(data: SourceData): Buffer | string {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/**
 * The last HMAC with a string key over a short message. SigV4 (`@smithy/signature-v4`) computes
 * HMAC(secret access key, access key ID) on every request, to find its cached signing key: the same
 * inputs each time, so the same answer. Holds the same secret string the credentials already hold.
 */
let lastKeyed: { secret: string; data: Buffer; digest: Uint8Array } | undefined;
const SHORT = 128;

/**
 * SHA-256 (and HMAC-SHA-256 when given a secret) on node:crypto, for `@smithy/signature-v4`.
 * A pure-JS SHA-256 was a tenth of a peer gateway's CPU under load; this is native.
 */
export class NodeSha256 implements Checksum {
  private readonly secret: SourceData | undefined;
  private hash: Hash | Hmac | undefined;
  /** A short message under a string key, held until digest (see `lastKeyed`). */
  private short: Buffer[] | undefined;
  private shortLength = 0;

  constructor(secret?: SourceData) {
    this.secret = secret;
    this.reset();
  }

  update(data: SourceData): void {
    const chunk = bytes(data);
    const size = Buffer.byteLength(chunk);
    if (this.short && this.shortLength + size <= SHORT) {
      this.short.push(Buffer.from(chunk)); // a copy: the caller may reuse its buffer
      this.shortLength += size;
      return;
    }
    if (this.short) {
      this.hash = createHmac('sha256', this.secret as string);
      for (const part of this.short) this.hash.update(part);
      this.short = undefined;
    }
    this.hash!.update(chunk);
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.digestSync());
  }

  digestSync(): Uint8Array {
    if (this.short) {
      const secret = this.secret as string;
      const data = Buffer.concat(this.short, this.shortLength);
      if (lastKeyed?.secret !== secret || !lastKeyed.data.equals(data))
        lastKeyed = { secret, data, digest: new Uint8Array(createHmac('sha256', secret).update(data).digest()) };
      return lastKeyed.digest.slice();
    }
    return new Uint8Array(this.hash!.digest());
  }

  reset(): void {
    this.short = undefined;
    this.shortLength = 0;
    if (typeof this.secret === 'string') this.short = [];
    else this.hash = this.secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(this.secret));
  }
}

// One-shot hashing (Node 20.12+): a third of createHash's time for a small body.
const hashOnce = (crypto as Partial<typeof crypto>).hash;

/** Hex SHA-256 of a body. */
export function sha256Hex(body: string | Uint8Array): string {
  return hashOnce ? hashOnce('sha256', body, 'hex') : createHash('sha256').update(body).digest('hex');
}
