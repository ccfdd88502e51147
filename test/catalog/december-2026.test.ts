// Issue 26 (first part): the catalog of December 2026 with each fact's mark, per-model sampling
// rules (refused only where a primary source says so), and Claude names from after the catalog sent
// to the Messages-API endpoint by their bare ID instead of being refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getDefaultCatalog } from '../../src/catalog/catalog.js';
import { resolveModel } from '../../src/catalog/resolve-model.js';
import { checkRequest } from '../../src/check/check-request.js';
import { factsText } from '../../src/cli/models-command.js';

const catalog = getDefaultCatalog();
const msgs = [{ role: 'user', content: 'hi' }];

describe('the catalog of December 2026', () => {
  it('has the models a new user names, and every fact of them carries a mark', () => {
    for (const name of [
      'claude-opus-5-5',
      'claude-sonnet-5-5',
      'claude-fable-5-1',
      'claude-opus-5',
      'claude-sonnet-5',
      'claude-fable-5',
      'claude-opus-4-8',
      'claude-opus-4-7',
    ]) {
      const m = catalog.find(name);
      assert.ok(m, name);
      for (const fact of ['id', 'contextWindow', 'maxOutputTokens', 'pricing'] as const)
        assert.match(m.marks?.[fact] ?? '', /^[CSXU]$/, `${name}: ${fact}`);
      assert.ok(m.sources?.length, `${name} says where its facts come from`);
    }
    assert.equal(catalog.find('anthropic.claude-fable-5')?.name, 'claude-fable-5');
    assert.equal(
      factsText(catalog.find('claude-sonnet-5-5')!),
      'id S, contextWindow S, maxOutputTokens S, pricing X, releasedOn S, profiles U',
    );
    assert.equal(factsText(catalog.find('claude-haiku-4-5')!), 'C');
    assert.deepEqual(catalog.find('claude-opus-5-5')!.pricing, {
      input: 4,
      output: 20,
      cacheWrite: 5,
      cacheWrite1h: 8,
      cacheRead: 0.2,
    });
  });

  it("Fable's sampling rule is refused (a primary source), Opus 4.8's assumed one only warned of", () => {
    const fable = checkRequest({
      format: 'anthropic',
      region: 'us-west-2',
      body: { model: 'claude-fable-5', max_tokens: 5, temperature: 0.5, top_k: 5, messages: msgs },
    });
    const errors = fable.filter((d) => d.code === 'sampling-not-taken');
    assert.deepEqual(
      errors.map((d) => [d.severity, d.location]),
      [
        ['error', 'body.temperature'],
        ['error', 'body.top_k'],
      ],
    );
    assert.ok(errors[0]!.bedrock, 'the emulator refuses it too');
    const ok = checkRequest({
      format: 'anthropic',
      region: 'us-west-2',
      body: { model: 'claude-fable-5', max_tokens: 5, top_p: 0.995, messages: msgs },
    });
    assert.equal(ok.filter((d) => d.code === 'sampling-not-taken').length, 0);
    const opus48 = checkRequest({
      format: 'anthropic',
      region: 'us-west-2',
      body: { model: 'claude-opus-4-8', max_tokens: 5, temperature: 0.2, messages: msgs },
    }).filter((d) => d.code === 'sampling-not-taken');
    assert.deepEqual(
      opus48.map((d) => d.severity),
      ['warning'],
    );
    assert.match(opus48[0]!.message, /not confirmed: sent as asked/);
  });
});

describe('names from after the catalog', () => {
  it('a well-formed Claude name the catalog does not know goes to the Messages-API endpoint by its bare ID', () => {
    for (const [input, id] of [
      ['claude-opus-6', 'anthropic.claude-opus-6'],
      ['anthropic.claude-sonnet-5-7', 'anthropic.claude-sonnet-5-7'],
      ['Claude-Haiku-6-1', 'anthropic.claude-haiku-6-1'],
    ]) {
      const r = resolveModel(input!, { region: 'eu-west-1', scope: 'geo' });
      assert.equal(r.modelId, id);
      assert.equal(r.unlisted, true);
      assert.equal(r.model, undefined, 'no price yet');
      assert.equal(r.scope, 'in-region', 'the bare ID stays in the region: every scope holds');
      assert.match(r.notes[0]!, /not in the catalog yet/);
    }
  });

  it('a known model in a wrong ID, a typo and another vendor are still refused with the fix', () => {
    assert.throws(
      () => resolveModel('anthropic.claude-opus-4-6', { region: 'us-west-2' }),
      (e: { fix?: string }) => /Did you mean/.test(e.fix ?? ''),
    );
    assert.throws(() => resolveModel('claude-sonet-6', { region: 'us-west-2' }), /is not a Claude model/);
    assert.throws(() => resolveModel('gpt-5', { region: 'us-west-2' }), /is not a Claude model/);
  });
});
