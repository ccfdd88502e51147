import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { reconcileUsage } from '../../src/translate/reconcile-usage.js';

describe('usage from everywhere Bedrock reports it', () => {
  it("the body's usage first; metrics and headers fill only what it left out", () => {
    const body = {
      input_tokens: 10,
      output_tokens: 5,
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
    };
    assert.deepEqual(
      reconcileUsage(body, { inputTokenCount: 99, outputTokenCount: 99 }),
      body,
      'nothing to fill: as it was',
    );
    assert.deepEqual(
      reconcileUsage(
        { input_tokens: 10, output_tokens: 0 },
        { inputTokenCount: 99, outputTokenCount: 7, cacheReadInputTokenCount: 3 },
      ),
      { input_tokens: 10, output_tokens: 7, cache_read_input_tokens: 3 },
    );
    assert.deepEqual(
      reconcileUsage(undefined, undefined, {
        'x-amzn-bedrock-input-token-count': '12',
        'x-amzn-bedrock-output-token-count': '4',
        'x-amzn-bedrock-cache-write-input-token-count': '2000',
      }),
      { input_tokens: 12, output_tokens: 4, cache_creation_input_tokens: 2000 },
    );
    assert.deepEqual(
      reconcileUsage(undefined, { inputTokenCount: 8 }, { 'x-amzn-bedrock-input-token-count': '12' }),
      { input_tokens: 8, output_tokens: 0 },
      'metrics before headers',
    );
    assert.equal(reconcileUsage(undefined, undefined, { 'x-amzn-bedrock-input-token-count': 'many' }), undefined);
  });
});
