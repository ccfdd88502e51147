import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { drawFault, parseFaults, seededRandom, settingsFor } from '../../src/emulator/faults.js';
import { CREDS, signedRequest } from '../helpers.js';

const OPUS = 'global.anthropic.claude-opus-4-6-v1';
const good = { anthropic_version: 'bedrock-2023-05-31', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] };
const path = (id: string, op = 'invoke') => `/model/${encodeURIComponent(id)}/${op}`;

let emu: RunningEmulator;
before(async () => {
  emu = await startEmulator({ port: 0 });
});
after(() => emu.close());

async function expectError(
  res: Awaited<ReturnType<typeof signedRequest>>,
  status: number,
  exception: string,
  message: RegExp | string,
) {
  assert.equal(res.status, status, res.text);
  assert.equal(res.headers['x-amzn-errortype'], `${exception}:http://internal.amazon.com/coral/com.amazon.bedrock/`);
  const m = res.json()['message'];
  if (typeof message === 'string') assert.equal(m, message);
  else assert.match(String(m), message);
}

describe("emulator: Bedrock's validation, with Bedrock's messages", () => {
  it('closed body schema: extraneous key [model] and [stream]', async () => {
    await expectError(
      await signedRequest(emu.url, path(OPUS), { ...good, model: 'x' }),
      400,
      'ValidationException',
      'Malformed input request: #: extraneous key [model] is not permitted, please reformat your input and try again.',
    );
    await expectError(
      await signedRequest(emu.url, path(OPUS), { ...good, stream: true }),
      400,
      'ValidationException',
      /extraneous key \[stream\]/,
    );
  });
  it('required keys', async () => {
    await expectError(
      await signedRequest(emu.url, path(OPUS), { anthropic_version: 'bedrock-2023-05-31', messages: good.messages }),
      400,
      'ValidationException',
      'Malformed input request: #: required key [max_tokens] not found, please reformat your input and try again.',
    );
    await expectError(
      await signedRequest(emu.url, path(OPUS), { max_tokens: 5, messages: good.messages }),
      400,
      'ValidationException',
      /required key \[anthropic_version\] not found/,
    );
    await expectError(
      await signedRequest(emu.url, path(OPUS), undefined, { raw: '{not json' }),
      400,
      'ValidationException',
      /Malformed input request/,
    );
  });
  it('invalid model identifier', async () => {
    await expectError(
      await signedRequest(emu.url, path('claude-opus-4-6'), good),
      400,
      'ValidationException',
      'The provided model identifier is invalid.',
    );
    await expectError(
      await signedRequest(emu.url, path('us.anthropic.claude-nope-v1'), good),
      400,
      'ValidationException',
      'The provided model identifier is invalid.',
    );
    // A base ID of no model, on InvokeModel and on Converse: Bedrock knows every one, and so does the emulator.
    await expectError(
      await signedRequest(emu.url, path('anthropic.claude-nope-v1:0'), good),
      400,
      'ValidationException',
      'The provided model identifier is invalid.',
    );
    await expectError(
      await signedRequest(emu.url, path('anthropic.claude-nope-v1:0', 'converse'), {
        messages: [{ role: 'user', content: [{ text: 'hi' }] }],
      }),
      400,
      'ValidationException',
      'The provided model identifier is invalid.',
    );
  });
  it('on-demand not supported for bare IDs of profile-only models', async () => {
    await expectError(
      await signedRequest(emu.url, path('anthropic.claude-3-7-sonnet-20250219-v1:0'), good),
      400,
      'ValidationException',
      'Invocation of model ID anthropic.claude-3-7-sonnet-20250219-v1:0 with on-demand throughput isn\u2019t supported. Retry your request with the ID or ARN of an inference profile that contains this model.',
    );
  });
  it('model not offered in the region or geography (region from the SigV4 scope)', async () => {
    await expectError(
      await signedRequest(emu.url, path('us.anthropic.claude-opus-4-6-v1'), good, { region: 'eu-west-1' }),
      400,
      'ValidationException',
      'The provided model identifier is invalid.',
    );
    await expectError(
      await signedRequest(emu.url, path('apac.anthropic.claude-sonnet-4-5-20250929-v1:0'), good, {
        region: 'ap-south-1',
      }),
      400,
      'ValidationException',
      'The provided model identifier is invalid.',
    );
    assert.equal(
      (await signedRequest(emu.url, path('eu.anthropic.claude-opus-4-6-v1'), good, { region: 'eu-west-1' })).status,
      200,
    );
  });
  it('betas a source says Bedrock refuses: invalid beta flag; disputed ones are taken', async () => {
    await expectError(
      await signedRequest(emu.url, path(OPUS), { ...good, anthropic_beta: ['files-api-2025-04-14'] }),
      400,
      'ValidationException',
      'invalid beta flag',
    );
    // Sources disagree on claude-code-20250219 (Anthropic's gateway sends it to Bedrock): not refused here.
    const disputed = await signedRequest(emu.url, path(OPUS), { ...good, anthropic_beta: ['claude-code-20250219'] });
    assert.equal(disputed.status, 200);
    await expectError(
      await signedRequest(emu.url, path('global.anthropic.claude-haiku-4-5-20251001-v1:0'), {
        ...good,
        anthropic_beta: ['context-1m-2025-08-07'],
      }),
      400,
      'ValidationException',
      'invalid beta flag',
    );
  });
  it('temperature with top_p where rejected', async () => {
    await expectError(
      await signedRequest(emu.url, path(OPUS), { ...good, temperature: 0.1, top_p: 0.5 }),
      400,
      'ValidationException',
      'The model returned the following errors: `temperature` and `top_p` cannot both be specified for this model. Please use only one.',
    );
  });
  it('empty turns and text blocks, a prefill ending in whitespace', async () => {
    await expectError(
      await signedRequest(emu.url, path(OPUS), { ...good, messages: [{ role: 'user', content: '' }] }),
      400,
      'ValidationException',
      'The model returned the following errors: messages.0: all messages must have non-empty content except for the optional final assistant message',
    );
    await expectError(
      await signedRequest(emu.url, path(OPUS), {
        ...good,
        messages: [{ role: 'user', content: [{ type: 'text', text: '' }] }],
      }),
      400,
      'ValidationException',
      /text content blocks must be non-empty/,
    );
    await expectError(
      await signedRequest(emu.url, path(OPUS), {
        ...good,
        messages: [
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: 'Sure, ' },
        ],
      }),
      400,
      'ValidationException',
      /final assistant content cannot end with trailing whitespace/,
    );
    assert.equal(
      (
        await signedRequest(emu.url, path(OPUS), {
          ...good,
          messages: [
            { role: 'user', content: 'hi' },
            { role: 'assistant', content: 'Sure,' },
          ],
        })
      ).status,
      200,
    );
  });
  it('prompt over the context window without the 1M beta', async () => {
    const long = { ...good, messages: [{ role: 'user', content: 'y'.repeat(810_000) }] };
    const sonnet45 = 'global.anthropic.claude-sonnet-4-5-20250929-v1:0';
    await expectError(
      await signedRequest(emu.url, path(sonnet45), long),
      400,
      'ValidationException',
      'Input is too long for requested model.',
    );
    assert.equal(
      (await signedRequest(emu.url, path(sonnet45), { ...long, anthropic_beta: ['context-1m-2025-08-07'] })).status,
      200,
    );
    assert.equal((await signedRequest(emu.url, path(OPUS), long)).status, 200, 'Opus 4.6: 1M tokens without the beta');
  });
  it('max_tokens over the model maximum', async () => {
    await expectError(
      await signedRequest(emu.url, path('global.anthropic.claude-haiku-4-5-20251001-v1:0'), {
        ...good,
        max_tokens: 64_001,
      }),
      400,
      'ValidationException',
      /max_tokens: 64001 > 64000/,
    );
  });
  it('unknown routes', async () => {
    const res = await signedRequest(emu.url, '/model/x/explode', good);
    assert.equal(res.status, 404);
  });
});

describe('emulator: auth as Bedrock does it', () => {
  it('a wrong secret is a 403 InvalidSignatureException', async () => {
    await expectError(
      await signedRequest(emu.url, path(OPUS), good, { secret: 'wrong' }),
      403,
      'InvalidSignatureException',
      /signature we calculated does not match/,
    );
  });
  it('an unknown access key is a 403 UnrecognizedClientException', async () => {
    const res = await request(`${emu.url}${path(OPUS)}`, {
      method: 'POST',
      headers: {
        authorization: `AWS4-HMAC-SHA256 Credential=AKIDUNKNOWN/20261124/us-west-2/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
        'x-amz-date': '20261124T000000Z',
      },
      body: '{}',
    });
    assert.equal(res.statusCode, 403);
    assert.match(String(res.headers['x-amzn-errortype']), /^UnrecognizedClientException/);
    assert.match(await res.body.text(), /security token included in the request is invalid/);
  });
  it('only an Anthropic x-api-key is a 403 that says Bedrock uses IAM credentials', async () => {
    const res = await request(`${emu.url}${path(OPUS)}`, {
      method: 'POST',
      headers: { 'x-api-key': 'sk-ant-api03-secret', 'content-type': 'application/json' },
      body: JSON.stringify(good),
    });
    assert.equal(res.statusCode, 403);
    const text = await res.body.text();
    assert.match(text, /IAM credentials/);
    assert.ok(!text.includes('sk-ant-api03-secret'));
  });
  it('no credentials at all: Missing Authentication Token', async () => {
    const res = await request(`${emu.url}${path(OPUS)}`, { method: 'POST', body: '{}' });
    assert.equal(res.statusCode, 403);
    assert.match(await res.body.text(), /Missing Authentication Token/);
  });
  it('a wrong bearer key', async () => {
    const res = await request(`${emu.url}${path(OPUS)}`, {
      method: 'POST',
      headers: { authorization: 'Bearer nope' },
      body: '{}',
    });
    assert.equal(res.statusCode, 403);
    await res.body.text();
  });
  it('takes a signature over the host without its port (Portkey 1.15 signs that way), and nothing looser', async () => {
    const { createSigV4, signWith } = await import('../../src/aws/signer.js');
    const url = new URL(`${emu.url}${path(OPUS)}`);
    const body = JSON.stringify(good);
    const signer = createSigV4({ region: 'us-west-2', service: 'bedrock', credentials: CREDS });
    const signed = await signWith(signer, {
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', host: url.hostname },
      body,
    });
    const res = await request(url, { method: 'POST', headers: { ...signed, host: url.host }, body });
    assert.equal(res.statusCode, 200, await res.body.text());
    const other = await signWith(signer, {
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', host: 'elsewhere.example' },
      body,
    });
    const bad = await request(url, { method: 'POST', headers: { ...other, host: url.host }, body });
    assert.equal(bad.statusCode, 403);
    await bad.body.text();
  });
  it('checks service, date, clock skew, payload hash and signed headers', async () => {
    const now = new Date();
    const amzDate = now
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
    const day = amzDate.slice(0, 8);
    const sig = (service: string, date = day) =>
      `AWS4-HMAC-SHA256 Credential=${CREDS.accessKeyId}/${date}/us-west-2/${service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'a'.repeat(64)}`;
    const send = async (headers: Record<string, string>) => {
      const r = await request(`${emu.url}${path(OPUS)}`, { method: 'POST', headers, body: JSON.stringify(good) });
      return { status: r.statusCode, type: String(r.headers['x-amzn-errortype']), text: await r.body.text() };
    };
    let r = await send({ authorization: sig('s3'), 'x-amz-date': amzDate });
    assert.match(r.text, /scoped to correct service: 'bedrock'/);
    r = await send({ authorization: sig('bedrock', '20200101'), 'x-amz-date': amzDate });
    assert.match(r.text, /Date in Credential scope does not match/);
    r = await send({ authorization: sig('bedrock', '20200101'), 'x-amz-date': '20200101T000000Z' });
    assert.match(r.text, /Signature expired/);
    r = await send({
      authorization: sig('bedrock'),
      'x-amz-date': amzDate,
      'x-amz-content-sha256': createHash('sha256').update('other').digest('hex'),
    });
    assert.match(r.text, /x-amz-content-sha256 header does not match/);
    r = await send({ authorization: sig('bedrock'), 'x-amz-date': amzDate });
    assert.match(r.text, /signature we calculated does not match/);
    r = await send({ authorization: 'AWS4-HMAC-SHA256 garbage' });
    assert.match(r.type, /^IncompleteSignatureException/);
    r = await send({ authorization: sig('bedrock').replace('host;x-amz-date', 'x-amz-date'), 'x-amz-date': amzDate });
    assert.match(r.text, /'Host' must be a 'SignedHeader'/);
    r = await send({
      authorization: sig('bedrock').replace('host;x-amz-date', 'host;x-amz-date;x-missing'),
      'x-amz-date': amzDate,
    });
    assert.match(r.text, /signed header \\"x-missing\\" is missing/);
    assert.equal(createHmac('sha256', 'k').update('x').digest('hex').length, 64);
  });
});

describe('emulator: faults', () => {
  it('parses specs, scoped by region, and rejects bad ones', () => {
    const spec = parseFaults('throttle=0.1, us-east-1:unavailable=1,ttfb=20ms,gap=1s');
    assert.deepEqual(spec, {
      all: { throttle: 0.1, ttfb: 20, gap: 1000 },
      regions: { 'us-east-1': { unavailable: 1 } },
    });
    assert.equal(settingsFor(spec, 'us-east-1').unavailable, 1);
    assert.equal(settingsFor(spec, 'us-west-2').unavailable, 0);
    assert.throws(() => parseFaults('throttle=2'), /between 0 and 1/);
    assert.throws(() => parseFaults('explode=1'), /unknown fault/);
    assert.throws(() => parseFaults('ttfb=fast'), /a delay/);
    assert.throws(() => parseFaults('throttle'), /name=value/);
  });
  it('draws the same faults for the same seed', () => {
    const s = settingsFor(parseFaults('throttle=0.3,error500=0.2,midstream=0.5'), 'us-west-2');
    const run = (seed: number) => {
      const r = seededRandom(seed);
      return Array.from({ length: 50 }, () => drawFault(s, r, true));
    };
    assert.deepEqual(run(7), run(7));
    assert.notDeepEqual(run(7), run(8));
    const r = seededRandom(1);
    assert.ok(
      Array.from({ length: 50 }, () => drawFault(settingsFor(parseFaults('midstream=1'), 'x'), r, false)).every(
        (f) => f === undefined,
      ),
    );
  });
  it('forced per request with x-emulator-fault: throttle, error500, unavailable', async () => {
    await expectError(
      await signedRequest(emu.url, path(OPUS), good, { headers: { 'x-emulator-fault': 'throttle' } }),
      429,
      'ThrottlingException',
      'Too many requests, please wait before trying again.',
    );
    await expectError(
      await signedRequest(emu.url, path(OPUS), good, { headers: { 'x-emulator-fault': 'error500' } }),
      500,
      'InternalServerException',
      /unexpected error/,
    );
    await expectError(
      await signedRequest(emu.url, path(OPUS), good, { headers: { 'x-emulator-fault': 'unavailable' } }),
      503,
      'ServiceUnavailableException',
      /unable to process/,
    );
  });
  it('reset drops the connection; midstream ends a stream with an exception frame', async () => {
    await assert.rejects(signedRequest(emu.url, path(OPUS), good, { headers: { 'x-emulator-fault': 'reset' } }));
    const res = await signedRequest(emu.url, path(OPUS, 'invoke-with-response-stream'), good, {
      headers: { 'x-emulator-fault': 'midstream' },
    });
    assert.equal(res.status, 200);
    assert.match(res.text, /modelStreamErrorException/);
  });
  it('region-scoped probabilities from --faults, changeable at run time', async () => {
    emu.setFaults('us-east-1:throttle=1');
    try {
      assert.equal(
        (await signedRequest(emu.url, path('us.anthropic.claude-opus-4-6-v1'), good, { region: 'us-east-1' })).status,
        429,
      );
      assert.equal(
        (await signedRequest(emu.url, path('us.anthropic.claude-opus-4-6-v1'), good, { region: 'us-west-2' })).status,
        200,
      );
    } finally {
      emu.setFaults(undefined);
    }
  });
  it('slow delays the first byte', async () => {
    const slow = await startEmulator({ port: 0, slowMs: 150 });
    try {
      const t = performance.now();
      assert.equal(
        (await signedRequest(slow.url, path(OPUS), good, { headers: { 'x-emulator-fault': 'slow' } })).status,
        200,
      );
      assert.ok(performance.now() - t >= 140);
    } finally {
      await slow.close();
    }
  });
});

describe('emulator: models file and delays', () => {
  it('serves a model added by a models file, without a release', async () => {
    const custom = await startEmulator({
      port: 0,
      models: {
        models: [{ name: 'claude-opus-4-9', bedrockId: 'anthropic.claude-opus-4-9', profiles: ['global', 'us'] }],
      },
    });
    try {
      const ok = await signedRequest(custom.url, path('global.anthropic.claude-opus-4-9'), good);
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.json()['model'], 'claude-opus-4-9');
      assert.equal(
        (await signedRequest(custom.url, path('eu.anthropic.claude-opus-4-9'), good, { region: 'eu-west-1' })).status,
        400,
      );
    } finally {
      await custom.close();
    }
  });
  it('adds latency before answering and gaps between stream events', async () => {
    const slow = await startEmulator({ port: 0, faults: 'latency=30ms,gap=10ms' });
    try {
      let t = performance.now();
      assert.equal((await signedRequest(slow.url, path(OPUS), good)).status, 200);
      assert.ok(performance.now() - t >= 28);
      t = performance.now();
      const s = await signedRequest(slow.url, path(OPUS, 'invoke-with-response-stream'), good);
      assert.equal(s.status, 200);
      assert.ok(performance.now() - t >= 28 + 5 * 9, 'several gaps between events');
    } finally {
      await slow.close();
    }
  });
});
