// Image sizes from their first bytes, and Claude's limits on them: 8000 px a side, 2000 px when a
// request holds more than 20 images; refused before sending, and by the emulator, with the fix.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkRequest } from '../../src/check/check-request.js';
import { imageDimensions } from '../../src/check/image-size.js';

const u32be = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const u16be = (n: number) => [(n >>> 8) & 255, n & 255];
const u16le = (n: number) => [n & 255, (n >>> 8) & 255];
const u24le = (n: number) => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255];
const u32le = (n: number) => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255];
const txt = (s: string) => [...s].map((c) => c.charCodeAt(0));
const b64 = (bytes: number[]) => Buffer.from(bytes.concat(new Array(64).fill(0))).toString('base64');

export const png = (w: number, h: number) =>
  b64([
    0x89,
    0x50,
    0x4e,
    0x47,
    0x0d,
    0x0a,
    0x1a,
    0x0a,
    ...u32be(13),
    ...txt('IHDR'),
    ...u32be(w),
    ...u32be(h),
    8,
    6,
    0,
    0,
    0,
  ]);
const gif = (w: number, h: number) => b64([...txt('GIF89a'), ...u16le(w), ...u16le(h)]);
// A JPEG with an APP0 segment and an EXIF-sized APP1 before its frame header.
const jpeg = (w: number, h: number) =>
  b64([
    0xff,
    0xd8,
    0xff,
    0xe0,
    ...u16be(16),
    ...new Array(14).fill(0),
    0xff,
    0xe1,
    ...u16be(4002),
    ...new Array(4000).fill(7),
    0xff,
    0xc2,
    ...u16be(17),
    8,
    ...u16be(h),
    ...u16be(w),
    3,
  ]);
const webpX = (w: number, h: number) =>
  b64([...txt('RIFF'), ...u32le(30), ...txt('WEBPVP8X'), ...u32le(10), 0, 0, 0, 0, ...u24le(w - 1), ...u24le(h - 1)]);
const webpL = (w: number, h: number) => {
  const bits = ((w - 1) & 0x3fff) | (((h - 1) & 0x3fff) << 14);
  return b64([...txt('RIFF'), ...u32le(30), ...txt('WEBPVP8L'), ...u32le(10), 0x2f, ...u32le(bits)]);
};
const webp = (w: number, h: number) =>
  b64([
    ...txt('RIFF'),
    ...u32le(30),
    ...txt('WEBPVP8 '),
    ...u32le(10),
    0,
    0,
    0,
    0x9d,
    0x01,
    0x2a,
    ...u16le(w),
    ...u16le(h),
  ]);

const image = (media: string, data: string) => ({ type: 'image', source: { type: 'base64', media_type: media, data } });
const check = (content: unknown[]) =>
  checkRequest({
    format: 'bedrock',
    model: 'global.anthropic.claude-sonnet-4-6',
    region: 'us-west-2',
    path: 'invoke',
    body: { anthropic_version: 'bedrock-2023-05-31', max_tokens: 100, messages: [{ role: 'user', content }] },
  }).filter((d) => d.severity === 'error');

describe('image sizes', () => {
  it('reads width and height from PNG, GIF, JPEG (past an EXIF segment) and the three WebP kinds', () => {
    assert.deepEqual(imageDimensions('image/png', png(1920, 1080)), { width: 1920, height: 1080 });
    assert.deepEqual(imageDimensions('image/gif', gif(320, 200)), { width: 320, height: 200 });
    assert.deepEqual(imageDimensions('image/jpeg', jpeg(4032, 3024)), { width: 4032, height: 3024 });
    assert.deepEqual(imageDimensions('image/webp', webpX(9000, 20)), { width: 9000, height: 20 });
    assert.deepEqual(imageDimensions('image/webp', webpL(800, 600)), { width: 800, height: 600 });
    assert.deepEqual(imageDimensions('image/webp', webp(640, 480)), { width: 640, height: 480 });
    assert.equal(imageDimensions('image/png', 'bm90IGFuIGltYWdl'), undefined, 'not an image: left to Bedrock');
    assert.equal(imageDimensions('image/jpeg', png(10, 10)), undefined);
  });
  it('refuses an image over 8000 px, in the words of the API, with the fix', () => {
    assert.deepEqual(check([image('image/png', png(8000, 8000)), { type: 'text', text: 'ok' }]), []);
    const [d] = check([{ type: 'text', text: 'look' }, image('image/png', png(8001, 100))]);
    assert.equal(d?.code, 'content-invalid');
    assert.match(
      d!.message,
      /messages\.0\.content\.1\.image\.source\.base64\.data: At least one of the image dimensions exceed max allowed size: 8000 pixels/,
    );
    assert.match(d!.fix ?? '', /8000 px a side, or 2000 px when the request has more than 20 images/);
  });
  it('holds more than 20 images to 2000 px, in tool results too', () => {
    const twenty = Array.from({ length: 19 }, () => image('image/gif', gif(1500, 1500)));
    assert.deepEqual(check([...twenty, image('image/jpeg', jpeg(2500, 1000))]), [], '20 images: 8000 px each');
    const messages = [
      { role: 'user', content: [...twenty, { type: 'text', text: 'run it' }] },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'shot', input: {} }] },
      {
        role: 'user',
        content: [
          {
            type: 'tool_result',
            tool_use_id: 'toolu_1',
            content: [image('image/png', png(100, 100)), image('image/jpeg', jpeg(2500, 1000))],
          },
        ],
      },
    ];
    const d = checkRequest({
      format: 'bedrock',
      model: 'global.anthropic.claude-sonnet-4-6',
      region: 'us-west-2',
      path: 'invoke',
      body: {
        anthropic_version: 'bedrock-2023-05-31',
        max_tokens: 100,
        tools: [{ name: 'shot', input_schema: { type: 'object' } }],
        messages,
      },
    }).filter((x) => x.severity === 'error');
    assert.equal(d.length, 1);
    assert.match(
      d[0]!.message,
      /messages\.2\.content\.0\.content\.1\.image\.source\.base64\.data: At least one of the image dimensions exceed max allowed size for many-image requests: 2000 pixels/,
    );
    assert.match(
      check(Array.from({ length: 101 }, () => image('image/gif', gif(10, 10))))[0]?.message ?? '',
      /too many images: 101/,
    );
  });
});
