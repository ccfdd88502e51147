import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCatalog, getDefaultCatalog, normalizeModelName } from '../../src/catalog/catalog.js';
import { estimateCost } from '../../src/catalog/estimate-cost.js';
import { globalAllowedFrom, isRegionName, regionToGeo } from '../../src/catalog/regions.js';
import { parseModelInput, resolveModel, suggestModels } from '../../src/catalog/resolve-model.js';
import { BedrockClaudeError } from '../../src/errors.js';

const catalog = getDefaultCatalog();

/** The table of bedrock-facts.md section 5: model, base ID, and which profiles exist. */
const TABLE: Array<[string, string, string[]]> = [
  ['claude-opus-4-6', 'anthropic.claude-opus-4-6-v1', ['global', 'us', 'eu', 'jp', 'apac', 'au']],
  ['claude-sonnet-4-6', 'anthropic.claude-sonnet-4-6', ['global', 'us', 'eu', 'jp', 'au']],
  ['claude-opus-4-5', 'anthropic.claude-opus-4-5-20251101-v1:0', ['global', 'us', 'eu']],
  ['claude-sonnet-4-5', 'anthropic.claude-sonnet-4-5-20250929-v1:0', ['global', 'us', 'eu', 'jp', 'au']],
  ['claude-haiku-4-5', 'anthropic.claude-haiku-4-5-20251001-v1:0', ['global', 'us', 'eu', 'au']],
  ['claude-opus-4-1', 'anthropic.claude-opus-4-1-20250805-v1:0', ['us']],
  ['claude-sonnet-4', 'anthropic.claude-sonnet-4-20250514-v1:0', ['global', 'us', 'eu', 'apac']],
  ['claude-opus-4', 'anthropic.claude-opus-4-20250514-v1:0', ['us']],
  ['claude-3-7-sonnet', 'anthropic.claude-3-7-sonnet-20250219-v1:0', ['us', 'eu', 'apac']],
  ['claude-3-5-haiku', 'anthropic.claude-3-5-haiku-20241022-v1:0', ['us']],
];
const REGION_OF: Record<string, string> = {
  us: 'us-east-1',
  eu: 'eu-central-1',
  jp: 'ap-northeast-1',
  apac: 'ap-south-1',
  au: 'ap-southeast-2',
};

function fails(fn: () => unknown, pattern: RegExp, status?: number): BedrockClaudeError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof BedrockClaudeError, `expected BedrockClaudeError, got ${String(err)}`);
    assert.match(err.fullMessage, pattern);
    if (status) assert.equal(err.status, status);
    return err;
  }
  assert.fail('expected an error');
}

describe('catalog data', () => {
  it('has every model of the facts table with its base ID and profiles', () => {
    for (const [name, id, profiles] of TABLE) {
      const m = catalog.find(name);
      assert.ok(m, name);
      assert.equal(m.bedrockId, id);
      assert.deepEqual([...m.profiles].sort(), [...profiles].sort(), name);
      assert.equal(m.onDemandInRegion, false, `${name} is profile-only on demand`);
      assert.ok(m.pricing.input > 0 && m.pricing.output > m.pricing.input);
    }
  });
  it('knows the newer IDs Claude Code sends', () => {
    assert.equal(catalog.find('claude-opus-4-8')?.bedrockId, 'anthropic.claude-opus-4-8');
    // December 2026 (bedrock-facts section 11): confirmed by Anthropic's page, each fact marked.
    for (const n of ['claude-opus-4-8', 'claude-opus-5', 'claude-sonnet-5', 'claude-opus-5-5', 'claude-fable-5']) {
      const m = catalog.find(n)!;
      assert.equal(m.unconfirmed, undefined, n);
      assert.deepEqual([m.contextWindow, m.maxOutputTokens, m.marks?.pricing], [1_000_000, 128_000, 'C'], n);
    }
    assert.deepEqual(catalog.find('claude-sonnet-5')!.pricing, {
      input: 2,
      output: 10,
      cacheWrite: 2.5,
      cacheWrite1h: 4,
      cacheRead: 0.2,
    });
    // Secondary sources only, one price in conflict: kept unconfirmed, its marks say so.
    const s55 = catalog.find('claude-sonnet-5-5')!;
    assert.deepEqual([s55.unconfirmed, s55.marks?.pricing, s55.marks?.id], [true, 'X', 'S']);
    // Confirmed by Bedrock's model card (launched 2026-04-16, 1M context, adaptive thinking only).
    assert.deepEqual(
      [
        catalog.find('claude-opus-4-7')?.unconfirmed,
        catalog.find('claude-opus-4-7')?.contextWindow,
        catalog.find('claude-opus-4-7')?.adaptiveThinkingOnly,
      ],
      [undefined, 1_000_000, true],
    );
  });
  it('marks 1M context on Opus 4.6, Sonnet 4.5 and Sonnet 4 only among the table models', () => {
    const with1m = TABLE.map(([n]) => n).filter((n) => catalog.find(n)!.context1m);
    assert.deepEqual(
      with1m.sort(),
      ['claude-opus-4-6', 'claude-sonnet-4', 'claude-sonnet-4-5', 'claude-sonnet-4-6'].sort(),
    );
  });
  it('finds by aliases, dated names, base IDs and loose spellings', () => {
    assert.equal(catalog.find('claude-sonnet-4-5-20250929')?.name, 'claude-sonnet-4-5');
    assert.equal(catalog.find('sonnet-4.5')?.name, 'claude-sonnet-4-5');
    assert.equal(catalog.find('Opus-4.6')?.name, 'claude-opus-4-6');
    assert.equal(catalog.find('anthropic.claude-haiku-4-5-20251001-v1:0')?.name, 'claude-haiku-4-5');
    assert.equal(catalog.find('claude-3-7-sonnet-latest')?.name, 'claude-3-7-sonnet');
    assert.equal(normalizeModelName(' anthropic/Claude_Opus_4.6 '), 'claude-opus-4-6');
    assert.equal(catalog.find('gpt-4'), undefined);
  });
  it('takes user overrides and new models without a release', () => {
    const c = createCatalog({
      models: [
        { name: 'claude-opus-4-9', bedrockId: 'anthropic.claude-opus-4-9', profiles: ['global', 'us'] },
        { name: 'claude-haiku-4-5', profiles: ['global', 'us', 'eu', 'au', 'jp'] },
      ],
    });
    assert.equal(
      resolveModel('opus-4.9', { region: 'us-east-1', catalog: c }).modelId,
      'global.anthropic.claude-opus-4-9',
    );
    assert.equal(
      resolveModel('claude-haiku-4-5', { region: 'ap-northeast-1', scope: 'geo', catalog: c }).modelId,
      'jp.anthropic.claude-haiku-4-5-20251001-v1:0',
    );
    assert.equal(c.find('claude-haiku-4-5')?.pricing.input, 1, 'unrelated fields kept');
    assert.throws(() => createCatalog({ models: [{ name: 'x' }] }), /bedrockId/);
  });
});

describe('regions', () => {
  it('maps regions to geo prefixes as bedrock-facts.md says', () => {
    const cases: Record<string, string | undefined> = {
      'us-east-1': 'us',
      'us-west-2': 'us',
      'ca-central-1': 'us',
      'eu-west-1': 'eu',
      'eu-central-2': 'eu',
      'ap-northeast-1': 'jp',
      'ap-northeast-3': 'jp',
      'ap-southeast-2': 'au',
      'ap-southeast-4': 'au',
      'ap-south-1': 'apac',
      'ap-southeast-1': 'apac',
      'ap-northeast-2': 'apac',
      'sa-east-1': undefined,
      'us-gov-west-1': undefined,
    };
    for (const [region, geo] of Object.entries(cases)) assert.equal(regionToGeo(region, catalog), geo, region);
    assert.equal(globalAllowedFrom('us-gov-west-1', catalog), false);
    assert.equal(globalAllowedFrom('sa-east-1', catalog), true);
    assert.ok(isRegionName('us-gov-west-1'));
    assert.ok(!isRegionName('uswest2'));
  });
});

describe('resolveModel', () => {
  it('resolves every model with every profile it has, from a region of that geography', () => {
    for (const [name, id, profiles] of TABLE) {
      for (const p of profiles) {
        if (p === 'global') {
          assert.equal(resolveModel(name, { region: 'us-west-2' }).modelId, `global.${id}`);
        } else {
          const r = resolveModel(name, { region: REGION_OF[p], scope: 'geo' });
          assert.equal(r.modelId, `${p}.${id}`, `${name} ${p}`);
          assert.equal(r.regionalPremium, true);
        }
      }
    }
  });
  it('defaults to global with no premium, and explains', () => {
    const r = resolveModel('claude-opus-4-6', { region: 'us-west-2' });
    assert.equal(r.modelId, 'global.anthropic.claude-opus-4-6-v1');
    assert.equal(r.regionalPremium, false);
    assert.match(r.explanation, /global cross-region inference profile.*no regional premium/);
  });
  it('falls back from global to the geo profile when a model has no global one, saying so', () => {
    const r = resolveModel('claude-opus-4-1', { region: 'us-east-1' });
    assert.equal(r.modelId, 'us.anthropic.claude-opus-4-1-20250805-v1:0');
    assert.equal(r.scope, 'geo');
    assert.match(r.notes.join(' '), /no global profile.*10% regional premium/);
  });
  it('seed exceptions: Sonnet 4.5 not in APAC, Haiku 4.5 not in JP or APAC', () => {
    fails(
      () => resolveModel('claude-sonnet-4-5', { region: 'ap-south-1', scope: 'geo' }),
      /not offered in the apac\..*scope global/,
    );
    const e = fails(
      () => resolveModel('claude-haiku-4-5', { region: 'ap-northeast-1', scope: 'geo' }),
      /not offered in the jp\. \(Japan\) geography/,
    );
    assert.match(e.fix ?? '', /global\.anthropic\.claude-haiku-4-5-20251001-v1:0/);
    assert.match(e.fix ?? '', /us\. \(e\.g\. us-east-1\)/);
    fails(() => resolveModel('claude-haiku-4-5', { region: 'ap-south-1', scope: 'geo' }), /apac/);
    // global still works from those regions
    assert.equal(
      resolveModel('claude-haiku-4-5', { region: 'ap-northeast-1' }).modelId,
      'global.anthropic.claude-haiku-4-5-20251001-v1:0',
    );
  });
  it("in-region scope fails for profile-only models with Bedrock's on-demand message", () => {
    const e = fails(
      () => resolveModel('claude-opus-4-6', { region: 'us-west-2', scope: 'in-region' }),
      /on-demand throughput isn\u2019t supported/,
    );
    assert.match(e.fix ?? '', /us\.anthropic\.claude-opus-4-6-v1/);
    const c = createCatalog({ models: [{ name: 'claude-3-5-haiku', onDemandInRegion: true, regions: ['us-west-2'] }] });
    assert.equal(
      resolveModel('claude-3-5-haiku', { region: 'us-west-2', scope: 'in-region', catalog: c }).modelId,
      'anthropic.claude-3-5-haiku-20241022-v1:0',
    );
  });
  it('turns a bare base ID into a profile and notes why', () => {
    const r = resolveModel('anthropic.claude-sonnet-4-5-20250929-v1:0', { region: 'eu-west-1', scope: 'geo' });
    assert.equal(r.modelId, 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0');
    assert.match(r.notes[0]!, /cannot be invoked on demand/);
  });
  it('keeps explicit profile IDs, checking geography and scope', () => {
    assert.equal(
      resolveModel('us.anthropic.claude-opus-4-6-v1', { region: 'us-west-2' }).modelId,
      'us.anthropic.claude-opus-4-6-v1',
    );
    fails(
      () => resolveModel('us.anthropic.claude-opus-4-6-v1', { region: 'eu-west-1' }),
      /only be called from United States regions.*eu\.anthropic/,
    );
    fails(
      () => resolveModel('global.anthropic.claude-opus-4-6-v1', { region: 'eu-west-1', scope: 'geo' }),
      /may route outside/,
    );
    fails(
      () => resolveModel('apac.anthropic.claude-haiku-4-5-20251001-v1:0', { region: 'ap-south-1' }),
      /no "apac\." inference profile/,
    );
    fails(
      () => resolveModel('eu.anthropic.claude-opus-4-6-v1', { region: 'eu-west-1', scope: 'in-region' }),
      /in-region does not allow/,
    );
    fails(
      () => resolveModel('global.anthropic.claude-opus-4-6-v1', { region: 'us-gov-west-1' }),
      /cannot be called from us-gov-west-1/,
    );
    fails(() => resolveModel('us.anthropic.claude-sonnet-4-5', { region: 'us-east-1' }), /identifier is invalid/, 404);
  });
  it('passes ARNs through, checking their region', () => {
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123';
    const r = resolveModel(arn, { region: 'us-east-1' });
    assert.equal(r.modelId, arn);
    assert.equal(r.kind, 'arn');
    fails(() => resolveModel(arn, { region: 'us-west-2' }), /--region us-east-1/);
    const profileArn = 'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-opus-4-6-v1';
    assert.equal(resolveModel(profileArn, { region: 'us-east-1' }).model?.name, 'claude-opus-4-6');
    fails(
      () =>
        resolveModel('arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-opus-4-6-v1', {
          region: 'us-east-1',
        }),
      /on-demand/,
    );
  });
  it('fails unknown names with "did you mean" and 404', () => {
    const e = fails(
      () => resolveModel('claude-sonet-4-5', { region: 'us-west-2' }),
      /Did you mean "claude-sonnet-4-5"/,
      404,
    );
    assert.equal(e.type, 'not_found_error');
    assert.deepEqual(suggestModels('claude-haiku-45').slice(0, 1), ['claude-haiku-4-5']);
  });
  it('needs a region and a model', () => {
    fails(() => resolveModel('claude-opus-4-6', { region: undefined }), /No AWS region given.*--region/);
    fails(() => resolveModel('claude-opus-4-6', { region: 'mars-1' }), /not an AWS region/);
    fails(() => resolveModel('  ', { region: 'us-east-1' }), /No model given/);
  });
  it('notes deprecated and unconfirmed models', () => {
    assert.match(resolveModel('claude-3-7-sonnet', { region: 'us-east-1' }).notes.join(' '), /deprecated/);
    assert.match(resolveModel('claude-sonnet-5-5', { region: 'us-east-1' }).notes.join(' '), /unconfirmed/);
    assert.match(
      resolveModel('claude-opus-4-8', { region: 'us-east-1' }).notes.join(' '),
      /Of Claude Opus 4\.8's facts, profiles \(a secondary source\)/,
    );
  });
  it('classifies inputs', () => {
    assert.equal(parseModelInput('claude-x').kind, 'name');
    assert.equal(parseModelInput('anthropic.claude-x').kind, 'base-id');
    assert.deepEqual(parseModelInput('jp.anthropic.claude-x'), {
      kind: 'profile-id',
      prefix: 'jp',
      base: 'anthropic.claude-x',
    });
    assert.equal(
      parseModelInput('arn:aws:bedrock:us-east-1:1:provisioned-model/x').arn?.resourceType,
      'provisioned-model',
    );
  });
});

describe('estimateCost', () => {
  it('prices usage per million tokens, with the 10% premium off global', () => {
    const usage = {
      input_tokens: 1_000_000,
      output_tokens: 100_000,
      cache_creation_input_tokens: 10_000,
      cache_read_input_tokens: 100_000,
    };
    // Haiku 4.5: no long-context tier (1M input tokens on Sonnet 4.5 is priced at its tier, below).
    const global = estimateCost(usage, 'claude-haiku-4-5');
    assert.equal(global.usd, 1 + 0.5 + 0.0125 + 0.01);
    const geo = estimateCost(usage, 'claude-haiku-4-5', 'geo');
    assert.equal(geo.multiplier, 1.1);
    assert.ok(Math.abs(geo.usd - global.usd * 1.1) < 1e-9);
    assert.equal(estimateCost({ input_tokens: 0, output_tokens: 0 }, 'claude-haiku-4-5', 'in-region').usd, 0);
    assert.throws(() => estimateCost({ input_tokens: 1, output_tokens: 1 }, 'nope'), /unknown model/);
  });
  it('prices cache writes by their time to live, cache reads, and the long-context tier, by hand', () => {
    const cost = (usage: Parameters<typeof estimateCost>[0], scope: 'global' | 'geo' = 'global') =>
      Math.round(estimateCost(usage, 'claude-sonnet-4-5', scope).usd * 1e9) / 1e9;
    // Sonnet 4.5 per million: input 3, output 15, cache write 5m 3.75, 1h 6, cache read 0.30; over 200K input: 6, 22.50, 7.50, 12, 0.60.
    assert.equal(cost({ input_tokens: 1000, output_tokens: 500 }), 0.0105, 'plain');
    assert.equal(cost({ input_tokens: 1000, output_tokens: 500 }, 'geo'), 0.01155, 'plain, geo: +10%');
    assert.equal(
      cost({ input_tokens: 100, output_tokens: 50, cache_creation_input_tokens: 2000 }),
      0.00855,
      'cache write, 5 minutes (no split reported)',
    );
    assert.equal(
      cost({
        input_tokens: 100,
        output_tokens: 50,
        cache_creation_input_tokens: 2000,
        cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 2000 },
      }),
      0.01305,
      'cache write, 1 hour',
    );
    assert.equal(
      cost({
        input_tokens: 100,
        output_tokens: 50,
        cache_creation_input_tokens: 3000,
        cache_creation: { ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 2000 },
      }),
      0.0168,
      'both',
    );
    assert.equal(cost({ input_tokens: 100, output_tokens: 50, cache_read_input_tokens: 5000 }), 0.00255, 'cache read');
    assert.equal(cost({ input_tokens: 250_000, output_tokens: 1000 }), 1.5225, 'long context');
    assert.equal(cost({ input_tokens: 250_000, output_tokens: 1000 }, 'geo'), 1.67475, 'long context, geo');
    assert.equal(
      cost({ input_tokens: 1000, output_tokens: 100, cache_read_input_tokens: 199_500 }),
      0.12795,
      'long context reached through cache reads',
    );
    assert.equal(cost({ input_tokens: 200_000, output_tokens: 0 }), 0.6, 'at the threshold: not over it');
    assert.equal(
      estimateCost({ input_tokens: 250_000, output_tokens: 0 }, 'claude-haiku-4-5').longContext,
      false,
      'a model without the tier',
    );
  });
});

describe('family aliases', () => {
  it('opus, sonnet and haiku mean the newest active, confirmed model the region and scope offer, and say so', () => {
    const sonnet = resolveModel('sonnet', { region: 'us-west-2', scope: 'global' });
    // Sonnet 5.5 rests on secondary sources: the alias stays on Sonnet 5, the newest confirmed.
    assert.equal(sonnet.model?.name, 'claude-sonnet-5');
    assert.equal(sonnet.modelId, 'global.anthropic.claude-sonnet-5');
    assert.match(sonnet.notes[0]!, /"sonnet" is the sonnet family alias: today it means Claude Sonnet 5 /);
    // Opus 5.5 is confirmed by Anthropic's page and its AWS model card: the newest confirmed Opus.
    for (const spelling of ['claude-opus', 'opus-latest', 'claude-opus-latest', 'OPUS'])
      assert.equal(
        resolveModel(spelling, { region: 'eu-west-1', scope: 'geo' }).modelId,
        'eu.anthropic.claude-opus-5-5',
        spelling,
      );
    assert.equal(resolveModel('fable', { region: 'us-west-2' }).model?.name, 'claude-fable-5-1');
    // Haiku 4.5 is not on demand in-region on bedrock-runtime: in-region it is bedrock-mantle's, by its mantle ID.
    const haiku = resolveModel('haiku', { region: 'ap-northeast-1', scope: 'in-region' });
    assert.deepEqual([haiku.modelId, haiku.backend], ['anthropic.claude-haiku-4-5', 'mantle']);
    assert.match(haiku.explanation, /on bedrock-mantle Messages API: bare model ID, in ap-northeast-1 only/);
    // Claude 3.5 Haiku has neither: in-region, no haiku fits.
    const legacy = createCatalog({ models: [{ name: 'claude-haiku-4-5', backends: ['invoke'] }] });
    assert.throws(
      () => resolveModel('haiku', { region: 'ap-northeast-1', scope: 'in-region', catalog: legacy }),
      /No haiku model is offered in ap-northeast-1/,
    );
    // A models file confirms a newer model, or replaces a list: the alias follows.
    const confirmed = createCatalog({ models: [{ name: 'claude-sonnet-5-5', unconfirmed: false }] });
    assert.equal(resolveModel('sonnet', { region: 'us-west-2', catalog: confirmed }).model?.name, 'claude-sonnet-5-5');
    const pinned = createCatalog({ familyAliases: { sonnet: ['claude-sonnet-4'] } });
    assert.equal(resolveModel('sonnet', { region: 'us-west-2', catalog: pinned }).model?.name, 'claude-sonnet-4');
    assert.throws(() => resolveModel('sonet', { region: 'us-west-2' }), /is not a Claude model bedrock-claude knows/);
  });
  it('a model retired on the Anthropic API but active on Bedrock is resolved, with a note', () => {
    const r = resolveModel('claude-sonnet-4-5', { region: 'us-west-2' });
    assert.equal(r.modelId, 'global.anthropic.claude-sonnet-4-5-20250929-v1:0');
    assert.ok(
      r.notes.some((n) => /retired on the Anthropic API since 2026-11-30/.test(n)),
      r.notes.join(' | '),
    );
  });
});
