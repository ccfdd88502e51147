/**
 * An image's width and height from the first bytes of its base64 data (PNG, GIF, WebP, JPEG),
 * without decoding the picture: enough to refuse what Claude refuses (larger than 8000 px a side,
 * or 2000 px in a request of more than 20 images) before it is sent.
 */

const b64 = (data: string, bytes: number): Uint8Array => Buffer.from(data.slice(0, Math.ceil(bytes / 3) * 4), 'base64');
const be16 = (b: Uint8Array, i: number) => (b[i]! << 8) | b[i + 1]!;
const le16 = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8);
const be32 = (b: Uint8Array, i: number) => ((b[i]! << 24) >>> 0) + (b[i + 1]! << 16) + (b[i + 2]! << 8) + b[i + 3]!;
const le24 = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16);
const ascii = (b: Uint8Array, i: number, n: number) => String.fromCharCode(...b.subarray(i, i + n));

/** Where a JPEG's frame header (SOFn) says its size: markers are walked, up to `limit` bytes. */
function jpeg(data: string, limit: number): { width: number; height: number } | undefined {
  const b = b64(data, limit);
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return undefined;
    const marker = b[i + 1]!;
    if (marker === 0xff) {
      i++;
      continue;
    }
    // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
      return { height: be16(b, i + 5), width: be16(b, i + 7) };
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      i += 2;
      continue;
    }
    i += 2 + be16(b, i + 2);
  }
  return undefined;
}

/** The size an image's header says, or undefined when the data is not one of these formats (or cut short). */
export function imageDimensions(mediaType: string, data: string): { width: number; height: number } | undefined {
  if (mediaType === 'image/png') {
    const b = b64(data, 24);
    return b.length >= 24 && ascii(b, 12, 4) === 'IHDR' ? { width: be32(b, 16), height: be32(b, 20) } : undefined;
  }
  if (mediaType === 'image/gif') {
    const b = b64(data, 10);
    return b.length >= 10 && ascii(b, 0, 3) === 'GIF' ? { width: le16(b, 6), height: le16(b, 8) } : undefined;
  }
  if (mediaType === 'image/webp') {
    const b = b64(data, 30);
    if (b.length < 30 || ascii(b, 0, 4) !== 'RIFF' || ascii(b, 8, 4) !== 'WEBP') return undefined;
    const chunk = ascii(b, 12, 4);
    if (chunk === 'VP8X') return { width: le24(b, 24) + 1, height: le24(b, 27) + 1 };
    if (chunk === 'VP8L') {
      const bits = b[21]! | (b[22]! << 8) | (b[23]! << 16) | (b[24]! << 24);
      return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
    }
    if (chunk === 'VP8 ') return { width: le16(b, 26) & 0x3fff, height: le16(b, 28) & 0x3fff };
    return undefined;
  }
  if (mediaType === 'image/jpeg') return jpeg(data, 256 * 1024);
  return undefined;
}
