/**
 * The AWS Price List's offers for Bedrock's Claude models: read per routing and service tier, written by the
 * emulator from the catalog (a round trip the comparison finds no difference in), and charged by the ledger's cost.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCatalog, getDefaultCatalog } from '../../src/catalog/catalog.js';
import { estimateCost } from '../../src/catalog/estimate-cost.js';
import { comparePrices, offerFor, readOffer } from '../../src/catalog/price-list.js';

/** One product and its on-demand price, as a bulk offer file carries them. */
function product(sku: string, usagetype: string, usd: string, unit = 'Units') {
  return {
    products: {
      [sku]: {
        sku,
        attributes: { servicename: 'Claude Opus 5 (Amazon Bedrock Edition)', regionCode: 'us-east-1', usagetype },
      },
    },
    terms: {
      OnDemand: {
        [sku]: { [`${sku}.T`]: { priceDimensions: { [`${sku}.T.R`]: { unit, pricePerUnit: { USD: usd } } } } },
      },
    },
  };
}

function offerOf(parts: Array<ReturnType<typeof product>>) {
  return {
    products: Object.assign({}, ...parts.map((p) => p.products)),
    terms: { OnDemand: Object.assign({}, ...parts.map((p) => p.terms.OnDemand)) },
  };
}

describe('AWS Price List offers', () => {
  it('are read per routing and service tier, in USD per million tokens whatever the unit; batch is left out', () => {
    const offer = offerOf([
      product('A', 'USE1-MP:USE1_input_tokens_global_standard-Units', '0.0000045000'),
      product('B', 'USE1-MP:USE1_output_tokens_global_standard-Units', '0.0000225000'),
      product('C', 'USE1-MP:USE1_input_tokens_standard-Units', '0.0049500000'),
      product('D', 'USE1-MP:USE1_input_tokens_global_priority-Units', '0.0000080000'),
      product('E', 'USE1-MP:USE1_output_tokens_global_priority-Units', '0.0000400000'),
      product('F', 'USE1-MP:USE1_input_tokens_global_batch-Units', '0.0000025000'),
      product('G', 'USE1-MP:USE1_image_generation_standard-Units', '1.0'),
    ]);
    // C's unit says per thousand.
    offer.terms.OnDemand['C']!['C.T']!.priceDimensions['C.T.R']!.unit = '1K tokens';
    const read = readOffer(offer, getDefaultCatalog().models)['claude-opus-5']!;
    assert.deepEqual(read, {
      global: { input: 4.5, output: 22.5 },
      regional: { input: 4.95 },
      tiers: { priority: { global: { input: 8, output: 40 } } },
    });
  });

  it('written from the catalog and read back, match the built-in prices; the ledger charges by tier', () => {
    const catalog = getDefaultCatalog();
    const read = readOffer(offerFor(catalog, 'eu-west-1'), catalog.models);
    assert.deepEqual(
      comparePrices(catalog, Object.fromEntries(Object.entries(read).map(([m, p]) => [m, { 'eu-west-1': p }]))),
      [],
    );
    assert.deepEqual(read['claude-sonnet-5']!.regional, {
      input: 2.2,
      output: 11,
      cacheRead: 0.22,
      cacheWrite: 2.75,
      cacheWrite1h: 4.4,
    });

    const priced = createCatalog({
      models: [
        {
          name: 'claude-opus-5',
          regionPrices: {
            'us-east-1': {
              global: { input: 4.5, output: 22.5 },
              tiers: { priority: { global: { input: 8, output: 40 } } },
            },
          },
        },
      ],
    });
    const usage = { input_tokens: 1_000_000, output_tokens: 1_000_000 };
    const cost = (tier?: string) => estimateCost(usage, 'claude-opus-5', 'global', priced, 'us-east-1', tier).usd;
    assert.equal(cost(), 27);
    assert.equal(cost('priority'), 48);
    assert.equal(cost('flex'), 27, 'a tier the list has no price for: the standard one');
    assert.equal(
      estimateCost(usage, 'claude-opus-5', 'global', priced, 'us-west-2').usd,
      30,
      'elsewhere: the list prices',
    );
  });
});
