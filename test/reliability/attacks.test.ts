// Issue 25, tried as an attacker would: data residency through ARNs (item 3), unbounded model names
// (item 6), inherited property names and malformed escapes (item 12). Each fails on the main before it.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import type { GatewayOptions, RunningGateway } from '../../src/server/gateway.js';
import { gatewayOn } from '../helpers.js';

const HAIKU = 'anthropic.claude-haiku-4-5-20251001-v1:0';
const ADMIN = 'attacks-admin-key-0123456789abcdef0123';
let emu: RunningEmulator;
let eu: RunningGateway;
let routed: RunningGateway;

/** A gateway on the emulator in us-west-2, silent, with `extra` on top. */
const gateway = (extra: Partial<GatewayOptions> = {}) => gatewayOn(emu.url, extra);

before(async () => {
  emu = await startEmulator({ port: 0 });
  eu = await gateway({ region: 'eu-west-1', scope: 'geo' });
  routed = await gateway({
    routes: { fast: [{ region: 'us-west-2', modelId: `global.${HAIKU}` }] },
    dataDir: mkdtempSync(join(tmpdir(), 'bc-attacks-')),
    adminKey: ADMIN,
  });
});

after(async () => {
  await eu.close();
  await routed.close();
  await emu.close();
});

async function messages(g: RunningGateway, model: string) {
  const res = await request(`${g.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, text, json: () => JSON.parse(text) as { error: { type: string; message: string } } };
}

describe('data residency holds for every spelling of a model (item 3)', () => {
  it('scope geo in eu-west-1: global and US profiles are refused as ARNs too, and nothing reaches Bedrock', async () => {
    const before = emu.received.length;
    for (const arn of [
      `arn:aws:bedrock:eu-west-1:123456789012:inference-profile/global.${HAIKU}`,
      `arn:aws:bedrock:eu-west-1:123456789012:inference-profile/us.${HAIKU}`,
      'arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/a1b2c3d4e5f6',
    ]) {
      const res = await messages(eu, arn);
      assert.equal(res.status, 400, `${arn}: ${res.text}`);
      assert.equal(res.json().error.type, 'invalid_request_error');
    }
    assert.equal(emu.received.length, before, 'no call was sent');
    const inGeo = await messages(eu, `arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.${HAIKU}`);
    assert.equal(inGeo.status, 200, inGeo.text);
    assert.equal(emu.received.length, before + 1);
  });
});

describe('model names are bounded where they enter (item 6)', () => {
  it('a 1 MB model name is a 400 at once, not a did-you-mean over a megabyte', async () => {
    const before = emu.received.length;
    const t0 = performance.now();
    const res = await messages(routed, 'claude-'.repeat(150_000));
    assert.equal(res.status, 400);
    assert.match(res.json().error.message, /1050000 characters long; Bedrock takes at most 2048/);
    assert.ok(res.text.length < 2000, `the answer does not echo the name (${res.text.length} bytes)`);
    assert.equal(emu.received.length, before);
    // The event loop was not held: the whole exchange, a megabyte sent, stays far under what the distance took.
    assert.ok(performance.now() - t0 < 2000);
  });
  it('a long unknown name gets no did-you-mean and is shown cut', async () => {
    const res = await messages(routed, `x${'y'.repeat(500)}`);
    assert.equal(res.status, 404);
    const { message } = res.json().error;
    assert.ok(message.length < 600, message);
    assert.doesNotMatch(message, /Did you mean/);
  });
});

describe('inherited property names are ordinary unknown names (item 12)', () => {
  for (const model of ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty']) {
    it(`"${model}" with routes configured is a 4xx, never a 5xx`, async () => {
      const res = await messages(routed, model);
      assert.ok(res.status >= 400 && res.status < 500, `${model}: ${res.status} ${res.text}`);
    });
  }
  it('the chat completions front and reasoning_effort "constructor" too', async () => {
    const res = await request(`${routed.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'fast',
        reasoning_effort: 'constructor',
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    assert.equal(res.statusCode, 400, await res.body.text());
  });
  it('a malformed percent-escape in an admin id is a 400, not "store failed"', async () => {
    const res = await request(`${routed.url}/admin/keys/%E0%A4%A`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    const text = await res.body.text();
    assert.equal(res.statusCode, 400, text);
    assert.doesNotMatch(text, /store failed/);
  });
});

describe('the admin API under attack (item 16)', () => {
  it('refuses an admin key shorter than 32 characters at start-up, saying why', async () => {
    const started = await gateway({
      dataDir: mkdtempSync(join(tmpdir(), 'bc-attacks-weak-')),
      adminKey: 'x',
    }).then(
      (g) => g,
      (err: Error & { fix?: string }) => err,
    );
    if (!(started instanceof Error)) {
      await started.close();
      assert.fail('the gateway started with a one-character admin key');
    }
    assert.match(started.message, /1 characters long; it must be at least 32/);
    assert.ok((started as { fix?: string }).fix);
  });

  it('takes Bearer in any case, and throttles failed attempts per address with 429 and retry-after', async () => {
    const g = await gateway({
      dataDir: mkdtempSync(join(tmpdir(), 'bc-attacks-throttle-')),
      adminKey: ADMIN,
    });
    try {
      const keys = async (authorization: string) => {
        const res = await request(`${g.url}/admin/keys`, { headers: { authorization } });
        await res.body.text();
        return res;
      };
      for (const scheme of ['Bearer', 'bearer', 'BEARER'])
        assert.equal((await keys(`${scheme} ${ADMIN}`)).statusCode, 200);
      for (let i = 0; i < 10; i++) assert.equal((await keys(`Bearer wrong-${i}`)).statusCode, 401);
      const refused = await keys('Bearer wrong-again');
      assert.equal(refused.statusCode, 429);
      assert.ok(Number(refused.headers['retry-after']) > 0 && Number(refused.headers['retry-after']) <= 60);
      assert.equal((await keys(`Bearer ${ADMIN}`)).statusCode, 429, 'until the minute is over, the address waits');
    } finally {
      await g.close();
    }
  });
});

describe('the keyless default serves only its own machine (item 8)', () => {
  const call = async (headers: Record<string, string>, path = '/v1/messages') => {
    const res = await request(`${routed.url}${path}`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const text = await res.body.text();
    return { status: res.statusCode, text };
  };
  const port = () => new URL(routed.url).port;
  it('a DNS-rebound name is refused; loopback names are served', async () => {
    const json = { 'content-type': 'application/json' };
    assert.equal((await call({ ...json, host: `attacker.example:${port()}` })).status, 403);
    assert.equal((await call({ ...json, host: `127.0.0.1:${port()}` })).status, 200);
    assert.equal((await call({ ...json, host: `localhost:${port()}` })).status, 200);
  });
  it('a cross-site Origin is refused (the Bedrock front too); a loopback page is served', async () => {
    const refused = await call({ 'content-type': 'application/json', origin: 'https://attacker.example' });
    assert.equal(refused.status, 403);
    assert.match(refused.text, /permission_error/);
    const bedrock = await call(
      { 'content-type': 'application/json', origin: 'https://attacker.example' },
      `/model/${encodeURIComponent(`global.${HAIKU}`)}/invoke`,
    );
    assert.equal(bedrock.status, 403);
    assert.equal((await call({ 'content-type': 'application/json', origin: 'null' })).status, 403);
    assert.equal((await call({ 'content-type': 'application/json', origin: 'http://localhost:3000' })).status, 200);
  });
  it('bodies a browser sends without asking (text, a form) are refused with the fix; JSON and none are served', async () => {
    for (const type of [
      'text/plain',
      'text/plain;charset=UTF-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const res = await call({ 'content-type': type });
      assert.equal(res.status, 415, type);
      assert.match(res.text, /content-type: application\/json/);
    }
    assert.equal((await call({ 'content-type': 'application/json; charset=utf-8' })).status, 200);
    // The AWS SDK's InvokeModel sends its body as application/octet-stream: no browser can, cross-site.
    assert.equal((await call({ 'content-type': 'application/octet-stream' })).status, 200);
    assert.equal((await call({})).status, 200);
  });
});

describe('client strings never break a response header (item 14)', () => {
  it('betas with CR/LF or outside Latin-1 are dropped and said, the answer delivered whole', async () => {
    const res = await request(`${routed.url}/model/${encodeURIComponent(`global.${HAIKU}`)}/invoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        anthropic_version: 'bedrock-2023-05-31',
        anthropic_beta: ['evil\r\nx-injected: 1', 'βeta-2099-01-01', 'x'.repeat(5000)],
        max_tokens: 5,
        messages: [{ role: 'user', content: 'still answered' }],
      }),
    });
    const body = (await res.body.json()) as { content: Array<{ text: string }> };
    assert.equal(res.statusCode, 200);
    assert.equal(body.content[0]!.text, 'still answered');
    assert.equal(res.headers['x-injected'], undefined);
    const dropped = String(res.headers['x-bedrock-claude-dropped']);
    assert.match(dropped, /^evil\?\?x-injected: 1, \?eta-2099-01-01, x+$/);
    assert.ok(dropped.length <= 2000);
  });
});

describe('unauthenticated traffic does not grow the ledger (item 7)', () => {
  it('keyless refusals are counted in the metrics, not stored one by one', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bc-attacks-ledger-'));
    const g = await gateway({
      dataDir,
      adminKey: ADMIN,
    });
    try {
      const admin = (path: string, init: { method?: 'POST'; body?: string } = {}) =>
        request(`${g.url}${path}`, {
          ...init,
          headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        }).then((r) => r.body.json() as Promise<Record<string, unknown>>);
      const { key } = (await admin('/admin/keys', { method: 'POST', body: JSON.stringify({ name: 'real' }) })) as {
        key: string;
      };
      const send = (headers: Record<string, string>) =>
        request(`${g.url}/v1/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({
            model: 'claude-haiku-4-5',
            max_tokens: 5,
            messages: [{ role: 'user', content: 'x' }],
          }),
        }).then(async (r) => (await r.body.text(), r.statusCode));
      for (let i = 0; i < 200; i++) assert.equal(await send(i % 2 ? {} : { 'x-api-key': `guess-${i}` }), 401);
      assert.equal(await send({ 'x-api-key': key }), 200);
      await g.flushLedger();
      const rows = (await admin('/admin/requests?limit=1000'))['data'] as Array<{ status: number }>;
      assert.deepEqual(
        rows.map((r) => r.status),
        [200],
        'only the keyed request is a row',
      );
      const metrics = await (await request(`${g.url}/metrics`)).body.text();
      const counted =
        /bedrock_claude_requests_total\{front="anthropic",path="\/v1\/messages",status="401"\} (\d+)/.exec(metrics);
      assert.equal(Number(counted?.[1]), 200, 'every refusal counted');
    } finally {
      await g.close();
    }
  });

  it('prunes rows older than 400 days by default, at start-up', async () => {
    const { openSqliteControlStore } = await import('../../src/control/sqlite-store.js');
    const { ledgerRowOf } = await import('../../src/control/ledger-columns.js');
    const { newUsageRecord } = await import('../../src/control/usage-record.js');
    const dataDir = mkdtempSync(join(tmpdir(), 'bc-attacks-retention-'));
    const day = 86_400_000;
    const now = Date.now();
    const row = (id: string, age: number) =>
      ledgerRowOf(
        Object.assign(newUsageRecord('POST', 'anthropic', '/v1/messages', '/v1/messages', now - age), {
          requestId: id,
          status: 200,
        }),
      );
    const store = openSqliteControlStore(dataDir);
    await store.appendLedger([row('req_old', 401 * day), row('req_recent', 399 * day)]);
    const g = await gateway({
      dataDir,
    });
    try {
      const ids = async () =>
        (await store.requests({ since: 0, until: now + 1, limit: 10 })).map((r) => r.requestId).sort();
      for (let i = 0; i < 200 && (await ids()).length > 1; i++) await new Promise((r) => setImmediate(r));
      assert.deepEqual(await ids(), ['req_recent']);
    } finally {
      await g.close();
      await store.close();
    }
  });
});

describe('a profile ARN is priced as its profile ID', () => {
  it('a global profile written as an ARN carries no regional premium', async () => {
    const { scopeOf } = await import('../../src/server/stages/call-stages.js');
    assert.equal(
      scopeOf({ modelId: `arn:aws:bedrock:us-west-2:123456789012:inference-profile/global.${HAIKU}` }, 'global'),
      'global',
    );
    assert.equal(
      scopeOf({ modelId: `arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.${HAIKU}` }, 'global'),
      'geo',
    );
    assert.equal(scopeOf({ modelId: `global.${HAIKU}` }, 'global'), 'global');
  });
});

describe('the work one wide body costs is bounded (item 18)', () => {
  const post = (g: RunningGateway, body: string, path = '/v1/messages') =>
    request(`${g.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then(
      async (res) => ({ status: res.statusCode, text: await res.body.text() }),
    );
  const wide = (blocks: number, model = 'claude-haiku-4-5') =>
    JSON.stringify({
      model,
      max_tokens: 5,
      messages: [{ role: 'user', content: Array.from({ length: blocks }, () => ({ type: 'text', text: 'a' })) }],
    });

  it('700,000 content blocks (19 MB) are a 413 before a call is made, on the Anthropic, OpenAI and Bedrock fronts', async () => {
    const before = emu.received.length;
    const body = wide(700_000);
    assert.ok(body.length > 18_000_000);
    for (const path of ['/v1/messages', '/v1/chat/completions', `/model/${HAIKU}/invoke`]) {
      const res = await post(routed, body, path);
      assert.equal(res.status, 413, `${path}: ${res.text.slice(0, 300)}`);
      assert.match(res.text, /more than 100000 JSON objects/);
    }
    assert.equal(emu.received.length, before, 'nothing reached Bedrock');
  });

  it('a body just under the bound is served, and braces inside strings do not count', async () => {
    const under = await post(routed, wide(99_000));
    assert.equal(under.status, 200, under.text.slice(0, 300));
    const braces = JSON.stringify({
      model: 'claude-haiku-4-5',
      max_tokens: 5,
      messages: [{ role: 'user', content: '{'.repeat(150_000) }],
    });
    const inText = await post(routed, braces);
    assert.equal(inText.status, 200, inText.text.slice(0, 300));
  });
});
