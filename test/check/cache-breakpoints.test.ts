import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cacheBreakpoints, splitCacheWrite } from '../../src/check/cache-breakpoints.js';
import { estimateInputTokens } from '../../src/check/estimate-tokens.js';

describe('cache breakpoints', () => {
  const body = {
    tools: [
      {
        name: 'read',
        description: 'r'.repeat(400),
        input_schema: { type: 'object' },
        cache_control: { type: 'ephemeral', ttl: '1h' },
      },
    ],
    system: [{ type: 'text', text: 's'.repeat(4000), cache_control: { type: 'ephemeral' } }],
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'u'.repeat(2000), cache_control: { type: 'ephemeral' } },
          { type: 'text', text: 'tail' },
        ],
      },
    ],
  };
  it('walks tools, system, then messages, with cumulative tokens and each TTL', () => {
    const bps = cacheBreakpoints(body, true);
    assert.deepEqual(
      bps.map((b) => b.ttl),
      ['1h', '5m', '5m'],
    );
    assert.ok(bps[0]!.tokens < bps[1]!.tokens && bps[1]!.tokens < bps[2]!.tokens);
    assert.equal(bps[1]!.tokens - bps[0]!.tokens, 1000, 'the system block: 4,000 characters');
    assert.ok(bps[2]!.tokens <= estimateInputTokens(body));
    assert.ok(!bps[2]!.prefix!.includes('cache_control'), 'the markers are not part of the key');
    const moved = structuredClone(body);
    delete (moved.system[0] as { cache_control?: unknown }).cache_control;
    assert.equal(
      cacheBreakpoints(moved, true)[1]!.prefix,
      bps[2]!.prefix,
      'the same prompt keys the same, wherever the markers are',
    );
    assert.deepEqual(cacheBreakpoints({ messages: [{ role: 'user', content: 'no markers' }] }), []);
  });
  it('splits a total write by the breakpoints past what was read', () => {
    const bps = [
      { tokens: 1000, ttl: '1h' as const },
      { tokens: 3000, ttl: '5m' as const },
    ];
    assert.deepEqual(splitCacheWrite(bps, 0, 3000), { '5m': 2000, '1h': 1000 });
    assert.deepEqual(splitCacheWrite(bps, 1000, 2000), { '5m': 2000, '1h': 0 }, 'the 1h prefix was read');
    assert.deepEqual(splitCacheWrite(bps, 0, 300), { '5m': 200, '1h': 100 }, 'scaled to the reported total');
    assert.deepEqual(splitCacheWrite([{ tokens: 0, ttl: '5m' }], 0, 77), { '5m': 77, '1h': 0 });
    assert.deepEqual(splitCacheWrite([{ tokens: 5000, ttl: '1h' }], 0, 4000), { '5m': 0, '1h': 4000 });
    assert.deepEqual(splitCacheWrite(bps, 0, 0), { '5m': 0, '1h': 0 });
  });
});
