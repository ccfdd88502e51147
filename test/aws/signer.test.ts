import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { createSigV4, signWith } from '../../src/aws/signer.js';
import { NodeSha256, sha256Hex } from '../../src/aws/node-sha256.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
async function digest(secret: string | Uint8Array | undefined, ...parts: Array<string | Uint8Array>): Promise<string> {
  const h = new NodeSha256(secret);
  for (const p of parts) h.update(p);
  return hex(await h.digest());
}

describe('node:crypto SHA-256 for SigV4', () => {
  it('gives the standard answers (FIPS 180-2, RFC 4231), again and again with the same or other inputs', async () => {
    assert.equal(await digest(undefined, 'abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    // the payload hash SigV4 sends as x-amz-content-sha256, of a string and of bytes
    assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(
      sha256Hex(new Uint8Array([0x61, 0x62, 0x63])),
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    assert.equal(sha256Hex(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    for (let i = 0; i < 3; i++) {
      // RFC 4231 test case 2, key and message as strings and as bytes, in pieces
      assert.equal(
        await digest('Jefe', 'what do ya want ', 'for nothing?'),
        '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
      );
      assert.equal(
        await digest(Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?')),
        '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
      );
      assert.equal(
        await digest('Jefe', 'what do ya want for something?'),
        createHmac('sha256', 'Jefe').update('what do ya want for something?').digest('hex'),
      );
      assert.equal(
        await digest('Jeff', 'what do ya want for nothing?'),
        createHmac('sha256', 'Jeff').update('what do ya want for nothing?').digest('hex'),
      );
    }
    const long = 'x'.repeat(100);
    assert.equal(
      await digest('k', long, long, 'end'),
      createHmac('sha256', 'k')
        .update(long + long + 'end')
        .digest('hex'),
    );
    const reused = Buffer.from('abc');
    const h = new NodeSha256('k');
    h.update(reused);
    reused.write('xyz');
    assert.equal(
      hex(h.digestSync()),
      createHmac('sha256', 'k').update('abc').digest('hex'),
      'the caller reusing its buffer changes nothing',
    );
  });
});

describe('SigV4 with @smithy/signature-v4 on node:crypto', () => {
  // The AWS Signature Version 4 test suite: get-vanilla and post-vanilla.
  const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
  const signer = createSigV4({ region: 'us-east-1', service: 'service', credentials, applyChecksum: false });
  const signingDate = new Date('2015-08-30T12:36:00Z');
  const vanilla = (method: string) =>
    signWith(
      signer,
      { method, url: new URL('https://example.amazonaws.com/'), headers: { host: 'example.amazonaws.com' }, body: '' },
      { signingDate },
    );

  it('signs the AWS test suite requests to the published signatures, every time', async () => {
    for (let i = 0; i < 2; i++) {
      const get = await vanilla('GET');
      assert.equal(
        get['authorization'],
        'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
      );
      const post = await vanilla('POST');
      assert.equal(
        post['authorization'],
        'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b',
      );
    }
  });
});
