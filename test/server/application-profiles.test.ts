// Issue 25, item 2: every model has a price or is refused under a budget. An application inference
// profile resolves to its model (Bedrock's GetInferenceProfile, asked once and remembered, or the
// config's mapping) for its price, max_tokens and data residency; one the gateway cannot learn is
// refused under a budget, with the way to price it. Look-ups are bounded: ARNs come from clients.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { profileFromBedrock, profileFromSource } from '../../src/catalog/application-profiles.js';
import { getDefaultCatalog } from '../../src/catalog/catalog.js';
import { resolveModel } from '../../src/catalog/resolve-model.js';
import { openSqliteControlStore } from '../../src/control/sqlite-store.js';
import type { UsageRecord } from '../../src/control/usage-record.js';
import { EMULATOR_ACCOUNT, startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { ApplicationProfiles } from '../../src/server/application-profiles.js';
import type { GatewayOptions, RunningGateway } from '../../src/server/gateway.js';
import { gatewayOn } from '../helpers.js';

const HAIKU = 'anthropic.claude-haiku-4-5-20251001-v1:0';
const catalog = getDefaultCatalog();
const arn = (region: string, id: string) =>
  `arn:aws:bedrock:${region}:${EMULATOR_ACCOUNT}:application-inference-profile/${id}`;

describe('application profiles, resolved (pure)', () => {
  it('a config source and a GetInferenceProfile answer give the model and its reach', () => {
    assert.deepEqual(profileFromSource(arn('us-west-2', 'aaa111'), `us.${HAIKU}`, catalog).reach, {
      kind: 'geo',
      geo: 'us',
    });
    assert.deepEqual(profileFromSource(arn('us-west-2', 'aaa111'), HAIKU, catalog).reach, {
      kind: 'in-region',
      region: 'us-west-2',
    });
    assert.throws(() => profileFromSource(arn('us-west-2', 'aaa111'), 'claude-nonesuch', catalog), /not a model ID/);
    const answer = (regions: string[]) => ({
      models: regions.map((r) => ({ modelArn: `arn:aws:bedrock:${r}::foundation-model/${HAIKU}` })),
    });
    assert.deepEqual(profileFromBedrock(answer(['eu-west-1', 'eu-central-1']), catalog)?.reach, {
      kind: 'geo',
      geo: 'eu',
    });
    assert.deepEqual(profileFromBedrock(answer(['eu-west-1', 'us-east-1']), catalog)?.reach, { kind: 'global' });
    assert.equal(profileFromBedrock({ models: [] }, catalog), undefined);
    assert.equal(profileFromBedrock({ models: [{ modelArn: 'x' }] }, catalog), undefined);
  });

  it('residency is decided on where the profile routes, and the price on its model and reach', () => {
    const at = (region: string, scope: 'geo' | 'global' | 'in-region', source: string) =>
      resolveModel(arn(region, 'bbb222'), {
        region,
        scope,
        catalog,
        applicationProfile: profileFromSource(arn(region, 'bbb222'), source, catalog),
      });
    const eu = at('eu-west-1', 'geo', `eu.${HAIKU}`);
    assert.equal(eu.model?.name, 'claude-haiku-4-5');
    assert.equal(eu.scope, 'geo');
    assert.throws(() => at('eu-west-1', 'geo', `us.${HAIKU}`), /routes to the us geography/);
    assert.throws(() => at('eu-west-1', 'geo', `global.${HAIKU}`), /routes to any commercial region/);
    assert.equal(at('eu-west-1', 'in-region', HAIKU).scope, 'in-region');
    assert.equal(at('us-west-2', 'global', `global.${HAIKU}`).scope, 'global');
  });
});

describe('look-ups are bounded', () => {
  it('unknown ARNs: a burst of 10 look-ups, then 2 a second; a failure is remembered for a minute', async () => {
    let now = 1_000_000;
    const asked: string[] = [];
    const profiles = new ApplicationProfiles(
      catalog,
      {},
      async (a) => {
        asked.push(a);
        throw new Error('AccessDeniedException');
      },
      () => now,
    );
    for (let i = 0; i < 50; i++) await profiles.learn(arn('us-west-2', `f${i}`));
    assert.equal(asked.length, 10);
    await profiles.learn(arn('us-west-2', 'f0'));
    assert.equal(asked.length, 10, 'remembered: not asked again');
    now += 1000;
    for (let i = 50; i < 60; i++) await profiles.learn(arn('us-west-2', `f${i}`));
    assert.equal(asked.length, 12);
    now += 60_000;
    await profiles.learn(arn('us-west-2', 'f0'));
    assert.equal(asked.at(-1), arn('us-west-2', 'f0'), 'asked again after a minute');
    await profiles.learn('arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/x/../y');
    assert.equal(asked.length, 13, 'not an ARN: never asked');
  });
});

describe('application profiles through the gateway', () => {
  let emu: RunningEmulator;
  let us: RunningGateway;
  let eu: RunningGateway;
  let key = '';
  const records: UsageRecord[] = [];
  const start = (extra: Partial<GatewayOptions>) =>
    gatewayOn(emu.url, Object.assign({ sinks: [{ record: (u: UsageRecord) => void records.push(u) }] }, extra));

  before(async () => {
    emu = await startEmulator({
      port: 0,
      applicationProfiles: { usprofile1: `us.${HAIKU}`, euprofile1: `eu.${HAIKU}` },
    });
    const dataDir = mkdtempSync(join(tmpdir(), 'bc-app-profiles-'));
    const store = openSqliteControlStore(dataDir);
    key = (await store.createKey({ name: 'budgeted', budget: { usd: 5, period: 'day' } }, Date.now())).key;
    await store.close();
    us = await start({ dataDir });
    eu = await start({
      region: 'eu-west-1',
      scope: 'geo',
      applicationProfiles: { [arn('eu-west-1', 'configured1')]: `eu.${HAIKU}` },
    });
  });
  after(async () => {
    await us.close();
    await eu.close();
    await emu.close();
  });

  async function call(g: RunningGateway, model: string, maxTokens = 20, withKey = true) {
    const res = await request(`${g.url}/v1/messages`, {
      method: 'POST',
      headers: Object.assign({ 'content-type': 'application/json' }, withKey ? { 'x-api-key': key } : {}),
      body: JSON.stringify({ model, max_tokens: maxTokens, messages: [{ role: 'user', content: 'hi there' }] }),
    });
    return { status: res.statusCode, text: await res.body.text() };
  }

  it('a profile Bedrock knows is priced under a budget as its model, with the geo premium', async () => {
    const res = await call(us, arn('us-west-2', 'usprofile1'));
    assert.equal(res.status, 200, res.text);
    const u = records.at(-1)!;
    assert.equal(u.bedrockModel, arn('us-west-2', 'usprofile1'), 'the ARN is what is called');
    assert.equal(u.scope, 'geo');
    assert.ok(u.costUsd! > 0, `charged: $${u.costUsd}`);
  });

  it("its max_tokens is held to its model's maximum (it was sent as asked before)", async () => {
    const res = await call(us, arn('us-west-2', 'usprofile1'), 100_000);
    assert.equal(res.status, 200, res.text);
    const sent = emu.received.at(-1)!;
    assert.equal(sent.modelId, arn('us-west-2', 'usprofile1'));
    assert.equal((sent.body as { max_tokens: number }).max_tokens, 64_000, 'the model maximum');
  });

  it('one Bedrock does not know is refused under a budget, saying how to price it', async () => {
    const res = await call(us, arn('us-west-2', 'unknown999'));
    assert.equal(res.status, 400, res.text);
    assert.match(res.text, /has no price/);
    assert.match(res.text, /applicationProfiles/);
  });

  it('count_tokens counts with the model a profile calls; one whose model is unknown is a 501 not to retry', async () => {
    const count = (model: string) =>
      request(`${us.url}/v1/messages/count_tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi there' }] }),
      });
    const known = await count(arn('us-west-2', 'usprofile1'));
    assert.equal(known.statusCode, 200, await known.body.text());
    assert.equal(emu.received.at(-1)!.modelId, HAIKU, 'CountTokens takes the foundation model');
    const unknown = await count(arn('us-west-2', 'unknown998'));
    const text = await unknown.body.text();
    assert.equal(unknown.statusCode, 501, text);
    assert.equal(JSON.parse(text).error.type, 'not_supported');
    assert.equal(unknown.headers['x-should-retry'], 'false');
  });

  it('scope geo in eu-west-1: a US profile is refused, an EU one (learnt or configured) is served', async () => {
    const received = emu.received.length;
    const usOne = await call(eu, arn('eu-west-1', 'usprofile1'), 20, false);
    assert.equal(usOne.status, 400, usOne.text);
    assert.match(usOne.text, /routes to the us geography/);
    assert.equal(emu.received.length, received, 'nothing was sent');
    assert.equal((await call(eu, arn('eu-west-1', 'euprofile1'), 20, false)).status, 200);
    assert.equal((await call(eu, arn('eu-west-1', 'configured1'), 20, false)).status, 200);
    assert.equal(records.at(-1)!.scope, 'geo');
  });
});
