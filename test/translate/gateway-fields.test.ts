// Issue 26, item 9: what Anthropic's gateway protocol asks of a Bedrock upstream about fields meant
// for gateways. `tags` and the request-tags beta never reach Bedrock (under every policy, said in
// `dropped`); `safeguards`, a safety setting Bedrock does not take, is refused by name, never dropped.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getDefaultCatalog } from '../../src/catalog/catalog.js';
import { BedrockClaudeError } from '../../src/errors.js';
import { toBedrockRequest } from '../../src/translate/to-bedrock.js';

const catalog = getDefaultCatalog();
const translate = (body: Record<string, unknown>, policy: 'drop' | 'strict' | 'passthrough', beta?: string) =>
  toBedrockRequest(
    {
      path: '/v1/messages',
      headers: beta ? { 'anthropic-beta': beta } : {},
      body: Object.assign(
        { model: 'claude-sonnet-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] },
        body,
      ),
    },
    { modelId: 'global.anthropic.claude-sonnet-5', catalog, policy },
  );

describe('fields for gateways', () => {
  it('tags and request-tags-2026-08-21 are removed before Bedrock under every policy, and said', () => {
    for (const policy of ['drop', 'strict', 'passthrough'] as const) {
      const out = translate(
        { tags: { team: 'search' } },
        policy,
        'request-tags-2026-08-21,interleaved-thinking-2025-05-14',
      );
      assert.equal(out.body['tags'], undefined, policy);
      assert.deepEqual(out.body['anthropic_beta'], ['interleaved-thinking-2025-05-14'], policy);
      assert.deepEqual(out.removals.map((r) => r.name).sort(), ['request-tags-2026-08-21', 'tags'], policy);
    }
  });

  it('safeguards is refused by name (400), never silently dropped; passthrough sends it as asked', () => {
    for (const policy of ['drop', 'strict'] as const)
      assert.throws(
        () => translate({ safeguards: { mode: 'auto' } }, policy),
        (e) => e instanceof BedrockClaudeError && e.status === 400 && /^safeguards: /.test(e.message) && !!e.fix,
      );
    assert.deepEqual(translate({ safeguards: { mode: 'auto' } }, 'passthrough').body['safeguards'], { mode: 'auto' });
  });
});

describe('upstream errors', () => {
  it('are masked of ARNs and account IDs, and relayed word for word otherwise', async () => {
    const { fromBedrockError } = await import('../../src/translate/errors.js');
    const denied = fromBedrockError(
      403,
      'AccessDeniedException',
      JSON.stringify({
        message:
          'User: arn:aws:sts::123456789012:assumed-role/dev/alice is not authorized to perform: ' +
          'bedrock:InvokeModel on resource: arn:aws:bedrock:us-west-2:123456789012:inference-profile/x',
      }),
    );
    assert.doesNotMatch(denied.message, /123456789012|assumed-role|alice/);
    assert.match(denied.message, /^User: <arn> is not authorized to perform: bedrock:InvokeModel on resource: <arn>$/);
    for (const said of ['Input is too long.', 'prompt is too long: 210000 tokens > 200000 maximum'])
      assert.equal(fromBedrockError(400, 'ValidationException', JSON.stringify({ message: said })).message, said);
  });
});

describe('upstream errors through the gateway, with the Anthropic SDK', () => {
  it('an access error reaches the client without the account, "Input is too long." word for word', async () => {
    const { startEmulator } = await import('../../src/emulator/emulator.js');
    const { gatewayOn } = await import('../helpers.js');
    const { default: Anthropic } = await import('@anthropic-ai/sdk');
    const arn = 'arn:aws:bedrock:us-west-2:123456789012:inference-profile/global.anthropic.claude-opus-5';
    const emu = await startEmulator({
      port: 0,
      script: {
        rules: [
          {
            match: { text: '^deny' },
            reply: { error: { status: 403, type: 'AccessDeniedException', message: `not authorized on ${arn}` } },
          },
          {
            match: { text: '^long' },
            reply: { error: { status: 400, type: 'ValidationException', message: 'Input is too long.' } },
          },
        ],
      },
    });
    const gw = await gatewayOn(emu.url, { retry: { max: 0 } });
    try {
      const client = new Anthropic({ apiKey: 'unused', baseURL: gw.url, maxRetries: 0 });
      const ask = (content: string) =>
        client.messages.create({ model: 'claude-opus-5', max_tokens: 10, messages: [{ role: 'user', content }] });
      await assert.rejects(ask('deny me'), (e: Error & { status?: number }) => {
        assert.equal(e.status, 403);
        assert.doesNotMatch(e.message, /123456789012/);
        assert.match(e.message, /not authorized on <arn>/);
        return true;
      });
      await assert.rejects(ask('long prompt'), (e: Error & { status?: number; error?: unknown }) => {
        assert.equal(e.status, 400);
        const body = e.error as { error: { type: string; message: string } };
        assert.deepEqual(body.error, { type: 'invalid_request_error', message: 'Input is too long.' });
        return true;
      });
    } finally {
      await gw.close(100);
      await emu.close();
    }
  });
});
