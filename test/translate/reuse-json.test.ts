import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { stringifyReusing, topLevelMembers } from '../../src/translate/reuse-json.js';
import { toBedrockRequest } from '../../src/translate/to-bedrock.js';

const SEED = Number(process.env['FC_SEED'] ?? 20261124);

describe('reusing the client JSON text for unchanged members', () => {
  it('finds each top-level member, with any spacing, escapes, nesting and repeated keys', () => {
    const text = ' {\n "a" : 1 ,"b":"x\\"}{[,\\\\","c":{"d":[1,{"e":"]}"}]},\t"a":[true,null,-1.5e3],"\\u006b":{} } ';
    const members = topLevelMembers(text)!;
    assert.deepEqual([...members.keys()], ['b', 'c', 'a', 'k']);
    assert.equal(members.get('a'), '[true,null,-1.5e3]');
    assert.equal(members.get('b'), '"x\\"}{[,\\\\"');
    assert.equal(members.get('c'), '{"d":[1,{"e":"]}"}]}');
    assert.equal(members.get('k'), '{}');
    assert.deepEqual(topLevelMembers('{}'), new Map());
    for (const bad of ['[]', '"x"', '{"a":1', '{"a" 1}', '{"a":1}x', '{a:1}', ''])
      assert.equal(topLevelMembers(bad), undefined, bad);
  });

  it('parses to exactly what JSON.stringify gives, whatever was kept, changed, added or removed', () => {
    const objects = fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 });
    fc.assert(
      fc.property(
        objects,
        fc.boolean(),
        fc.array(fc.tuple(fc.string(), fc.jsonValue({ maxDepth: 2 })), { maxLength: 3 }),
        fc.array(fc.nat(), { maxLength: 3 }),
        (original, spaced, changes, removals) => {
          const text = JSON.stringify(original, null, spaced ? 2 : undefined);
          const value = JSON.parse(text) as Record<string, unknown>;
          const body: Record<string, unknown> = { first: 'added', ...value };
          const keys = Object.keys(value);
          for (const n of removals) if (keys.length) delete body[keys[n % keys.length]!];
          for (const [k, v] of changes) body[k] = v;
          const out = stringifyReusing(body, { text, value });
          assert.deepEqual(JSON.parse(out), JSON.parse(JSON.stringify(body)));
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('keeps the client text of messages in a translated request, and serialises what translation changed', () => {
    const text =
      '{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"caf\\u00e9 \\ud83d\\ude00"}],"tools":[{"name":"t","input_schema":{"type":"object"},"defer_loading":true}]}';
    const value = JSON.parse(text) as Record<string, unknown>;
    const translated = toBedrockRequest(
      { path: '/v1/messages', body: value, source: { text, value } },
      { modelId: 'global.anthropic.claude-sonnet-4-5-20250929-v1:0' },
    );
    const out = stringifyReusing(translated.body, { text, value });
    assert.ok(out.includes('"messages":[{"role":"user","content":"caf\\u00e9 \\ud83d\\ude00"}]'), out);
    assert.ok(!out.includes('"model"') && !out.includes('"stream"'));
    assert.deepEqual(JSON.parse(out), JSON.parse(JSON.stringify(translated.body)));
    assert.equal(stringifyReusing({ a: 1, b: undefined }, undefined), '{"a":1}');
    assert.equal(stringifyReusing({ a: 1, b: undefined }, { text: '{"b":2}', value: { b: 2 } }), '{"a":1}');
  });
});
