// The config file's errors name the field, what was wrong, what was expected and an example; values the environment
// gives whole (`port: ${PORT}`) are typed as the schema says (issue 29).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGatewayConfig } from '../../src/server/config.js';

const failure = (text: string, env: Record<string, string> = {}) => {
  try {
    parseGatewayConfig(text, env);
  } catch (err) {
    return (err as Error).message;
  }
  return assert.fail('accepted');
};

describe('the config file', () => {
  it("types values from the environment as the schema expects: the container's port: ${PORT}", () => {
    const c = parseGatewayConfig('port: ${PORT}\ninsecureNoAuth: ${OPEN:-false}\nlimits: { bodyBytes: "${MAX}" }', {
      PORT: '8080',
      MAX: '1000000',
    });
    assert.deepEqual([c.port, c.insecureNoAuth, c.limits?.bodyBytes], [8080, false, 1_000_000]);
    assert.equal(
      failure('port: ${PORT}', { PORT: 'eighty' }),
      'config: port: expected number, received string, e.g. port: 4000',
    );
    assert.match(failure('port: "80${PORT}"', { PORT: '80' }), /^config: port: expected number/, 'only a whole value');
  });

  it('says which field, what was expected and an example, not "Invalid input"', () => {
    assert.equal(
      failure('counters: { url: "redis://127.0.0.1:6379", failMode: failopen }'),
      'config: counters.failMode: Invalid option: expected one of "failClosed"|"failOpen", e.g. failMode: failOpen',
    );
    assert.equal(
      failure('routes:\n  fast:\n    - region: us-west-2\n'),
      'config: routes.fast[0].modelId: missing: expected string, e.g. modelId: global.anthropic.claude-sonnet-4-6',
    );
    assert.equal(failure('prot: 4000'), 'config: (the file): not a setting here: prot (did you mean port?)');
    assert.equal(
      failure('limits: { idleMs: soon }'),
      'config: limits.idleMs: expected number, received string, e.g. idleMs: 10',
    );
  });
});
