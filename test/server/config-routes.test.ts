import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { getDefaultCatalog } from '../../src/catalog/catalog.js';
import type { BedrockClaudeError } from '../../src/errors.js';
import { createCredentialCache } from '../../src/aws/credentials.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { interpolateEnv, parseGatewayConfig } from '../../src/server/config.js';
import { createGatewayKey, findKey, hashKey, keyAllows } from '../../src/control/gateway-keys.js';
import { createRouter } from '../../src/server/targets.js';
import { createTransport } from '../../src/transport/bedrock-transport.js';
import { parseSse } from '../../src/translate/parse-sse.js';
import { CREDS, encoded } from '../helpers.js';

const catalog = getDefaultCatalog();

describe('gateway config', () => {
  it('parses the example file, with ${ENV} interpolation', () => {
    const c = parseGatewayConfig(readFileSync('gateway.example.yaml', 'utf8'), { AWS_REGION: 'eu-west-1' });
    assert.equal(c.region, 'eu-west-1');
    assert.equal(c.aws?.profile, 'default');
    assert.equal(c.keys?.length, 2);
    const teamOpus = c.routes?.['team-opus'];
    assert.ok(teamOpus && !Array.isArray(teamOpus));
    assert.equal(teamOpus.policy, 'strict');
    assert.equal(teamOpus.targets[1]?.backend, 'mantle');
    assert.equal(c.limits?.upstreamConcurrency, 64);
  });
  it('refuses unknown keys, bad values and missing variables, saying where', () => {
    assert.throws(() => parseGatewayConfig('regoin: us-west-2'), /not a setting here: regoin/);
    assert.throws(() => parseGatewayConfig('scope: everywhere'), /scope/);
    assert.throws(() => parseGatewayConfig('keys: [{ name: a, sha256: nothex }]'), /keys\[0\]\.sha256: hex SHA-256/);
    assert.throws(() => parseGatewayConfig('routes: { x: [{ region: mars, modelId: y }] }'), /routes\.x\[0\]\.region/);
    assert.throws(() => interpolateEnv('a: ${NOPE}', {}), /\$\{NOPE\} is not set/);
    assert.throws(() => parseGatewayConfig('region: ${NOPE}', {}), /NOPE/);
    assert.equal(parseGatewayConfig('# ${IN_A_COMMENT}\nport: 5', {}).port, 5);
    assert.equal(interpolateEnv('a: ${X:-7}', {}), 'a: 7');
    assert.deepEqual(parseGatewayConfig(''), {});
  });
});

describe('gateway keys', () => {
  it('are random, stored as hashes, found in constant time, limited to their models', () => {
    const a = createGatewayKey('a');
    const b = createGatewayKey('b');
    assert.notEqual(a.key, b.key);
    assert.match(a.key, /^bck-[A-Za-z0-9_-]{40}$/);
    assert.equal(a.entry.sha256, hashKey(a.key));
    assert.ok(!JSON.stringify(a.entry).includes(a.key));
    assert.equal(findKey([a.entry, b.entry], b.key)?.name, 'b');
    assert.equal(findKey([a.entry], 'nope'), undefined);
    assert.equal(findKey([a.entry], undefined), undefined);
    assert.ok(keyAllows({ ...a.entry, models: ['claude-haiku-*', 'x'] }, 'claude-haiku-4-5'));
    assert.ok(!keyAllows({ ...a.entry, models: ['claude-haiku-*'] }, 'claude-opus-4-6'));
    assert.ok(keyAllows(undefined, 'anything'));
  });
});

describe('routes and data residency', () => {
  it('default routes come from the catalog, then fallback regions', () => {
    const r = createRouter({ catalog, region: 'us-west-2', scope: 'geo', fallbackRegions: ['us-east-1'] });
    assert.deepEqual(
      r.targetsFor('claude-sonnet-4-5').map((t) => [t.region, t.modelId]),
      [
        ['us-west-2', 'us.anthropic.claude-sonnet-4-5-20250929-v1:0'],
        ['us-east-1', 'us.anthropic.claude-sonnet-4-5-20250929-v1:0'],
      ],
    );
    assert.throws(
      () => r.targetsFor('claude-sonet'),
      (e: { fix?: string }) => /Did you mean/.test(e.fix ?? ''),
    );
  });
  it('scope geo never leaves its geography: fallback regions and routes are checked at start', () => {
    assert.throws(
      () => createRouter({ catalog, region: 'eu-west-1', scope: 'geo', fallbackRegions: ['us-east-1'] }),
      /outside the eu geography/,
    );
    assert.throws(
      () =>
        createRouter({
          catalog,
          region: 'eu-west-1',
          scope: 'geo',
          routes: {
            x: [
              { region: 'eu-west-1', modelId: 'eu.anthropic.claude-opus-4-6-v1' },
              { region: 'us-east-1', modelId: 'us.anthropic.claude-opus-4-6-v1' },
            ],
          },
        }),
      /mixes geographies/,
    );
    assert.throws(
      () =>
        createRouter({
          catalog,
          region: 'eu-west-1',
          scope: 'geo',
          routes: { x: [{ region: 'eu-west-1', modelId: 'global.anthropic.claude-opus-4-6-v1' }] },
        }),
      /mixes geographies \(global\)/,
    );
    const ok = createRouter({
      catalog,
      region: 'eu-west-1',
      scope: 'geo',
      routes: {
        x: [
          { region: 'eu-west-1', modelId: 'eu.anthropic.claude-opus-4-6-v1' },
          { region: 'eu-central-1', modelId: 'eu.anthropic.claude-opus-4-6-v1' },
        ],
      },
    });
    assert.equal(ok.targetsFor('x')[1]!.model?.name, 'claude-opus-4-6');
    assert.deepEqual(ok.routeNames(), ['x']);
    assert.equal(ok.policyFor('x'), undefined);
    const strict = createRouter({
      catalog,
      region: 'us-west-2',
      scope: 'global',
      routes: {
        s: { policy: 'strict', targets: [{ region: 'us-west-2', modelId: 'global.anthropic.claude-opus-4-6-v1' }] },
      },
    });
    assert.equal(strict.policyFor('s'), 'strict');
    assert.equal(strict.targetsFor('s')[0]!.model?.name, 'claude-opus-4-6');
    // global scope may route anywhere
    assert.equal(
      createRouter({ catalog, region: 'eu-west-1', scope: 'global', fallbackRegions: ['us-east-1'] }).targetsFor(
        'claude-opus-4-6',
      ).length,
      2,
    );
  });
});

describe('Mantle backend (native Messages API)', () => {
  let emu: RunningEmulator;
  before(async () => {
    emu = await startEmulator({ port: 0 });
  });
  after(() => emu.close());
  it('sends Messages-shaped requests signed for bedrock-mantle, JSON and SSE, and counts tokens', async () => {
    const t = createTransport({
      auth: { kind: 'sigv4', credentials: createCredentialCache(CREDS) },
      endpoint: emu.url,
    });
    const target = { region: 'us-west-2', modelId: 'anthropic.claude-opus-4-6-v1', backend: 'mantle' as const };
    const body = { model: 'x', max_tokens: 50, messages: [{ role: 'user', content: 'via mantle' }] };
    const r = await t.messages(
      {
        path: '/v1/messages',
        headers: { 'anthropic-beta': 'interleaved-thinking-2025-05-14,claude-code-20250219' },
        body,
      },
      [target],
    );
    assert.ok(r.kind === 'json');
    assert.deepEqual(r.body['content'], [{ type: 'text', text: 'via mantle' }]);
    const got = emu.received.at(-1)!;
    assert.equal(got.operation, 'mantle-messages');
    // The Messages-API endpoints get the betas no source says they refuse (Anthropic's gateway sends claude-code's).
    assert.equal(got.headers['anthropic-beta'], 'interleaved-thinking-2025-05-14,claude-code-20250219');
    assert.equal(got.headers['anthropic-version'], '2023-06-01');
    assert.equal((got.body as Record<string, unknown>)['model'], 'anthropic.claude-opus-4-6-v1');
    const s = encoded(await t.messages({ path: '/v1/messages', body: { ...body, stream: true } }, [target]));
    assert.ok(s.kind === 'stream');
    const events = [];
    for await (const e of parseSse(s.sse)) events.push(e);
    assert.equal(events.at(-1)!['type'], 'message_stop');
    assert.equal(s.summary.usage.output_tokens, 3);
    const framed = encoded(
      await t.messages({ path: '/v1/messages', body: { ...body, stream: true } }, [target]),
      'eventstream',
    );
    assert.ok(framed.kind === 'stream');
    let bytes = 0;
    for await (const b of framed.sse) bytes += b.length;
    assert.ok(bytes > 100);
    const c = await t.messages({ path: '/v1/messages/count_tokens', body: { model: 'x', messages: body.messages } }, [
      target,
    ]);
    assert.ok(c.kind === 'json' && (c.body['input_tokens'] as number) > 0);
    const err = encoded(
      await t.messages({ path: '/v1/messages', body: { ...body, stream: true } }, [target], {
        headers: { 'x-emulator-fault': 'midstream' },
      }),
    );
    assert.ok(err.kind === 'stream');
    for await (const _ of err.sse) void _;
    assert.equal(err.summary.error?.type, 'api_error');
    // bedrock-mantle takes bare model IDs only: a profile ID is a 404 there.
    await assert.rejects(
      t.messages({ path: '/v1/messages', body }, [{ ...target, modelId: 'global.anthropic.claude-opus-4-6-v1' }]),
      (e: BedrockClaudeError) => e.status === 404 && /does not exist/.test(e.message),
    );
    await t.close();
  });
});
