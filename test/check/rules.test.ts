import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkRequest } from '../../src/check/check-request.js';
import { hasErrors, type CheckInput, type Diagnostic } from '../../src/check/diagnostic.js';
import { estimateInputTokens } from '../../src/check/estimate-tokens.js';
import { RULES } from '../../src/check/rules.js';

const msgs = [{ role: 'user', content: 'Hello, world' }];
const good = { anthropic_version: 'bedrock-2023-05-31', max_tokens: 256, messages: msgs };
const bedrock = (body: unknown, extra: Partial<CheckInput> = {}): Diagnostic[] =>
  checkRequest({
    format: 'bedrock',
    region: 'us-west-2',
    model: 'global.anthropic.claude-opus-4-6-v1',
    body,
    ...extra,
  });
const codes = (ds: Diagnostic[]) => ds.map((d) => d.code);
function only(ds: Diagnostic[], code: string): Diagnostic {
  const d = ds.find((x) => x.code === code);
  assert.ok(d, `expected ${code}, got ${codes(ds).join(',') || 'nothing'}`);
  assert.ok(d.message.length > 10 && d.fix.length > 5, 'message and fix');
  return d;
}

describe('check rules', () => {
  it("passes the seed's own examples", () => {
    assert.deepEqual(bedrock(good), []);
    assert.deepEqual(bedrock({ ...good, anthropic_beta: ['context-1m-2025-08-07'] }), []);
    assert.deepEqual(bedrock(good, { model: 'us.anthropic.claude-opus-4-6-v1' }), []);
    assert.deepEqual(
      checkRequest({
        format: 'anthropic',
        region: 'us-west-2',
        body: { model: 'claude-sonnet-4-5', max_tokens: 10, messages: msgs },
      }),
      [],
    );
  });
  it('lists every rule once, each with its own code and a description (check --list)', () => {
    const codes = RULES.map((r) => r.code);
    assert.equal(new Set(codes).size, codes.length, `a code used twice: ${codes.join(', ')}`);
    for (const r of RULES) assert.ok(r.description.length > 20, `${r.code} has no description`);
  });
  it('wrong model ID format: an Anthropic name or an unknown ID sent to Bedrock', () => {
    const d = only(bedrock(good, { model: 'claude-opus-4-6' }), 'model-id-format');
    assert.match(d.fix, /global\.anthropic\.claude-opus-4-6-v1/);
    assert.equal(d.bedrock?.message, 'The provided model identifier is invalid.');
    assert.match(only(bedrock(good, { model: 'anthropic.claude-opus-4-6' }), 'model-id-format').fix, /Did you mean/);
    only(bedrock(good, { model: '' }), 'missing-model');
  });
  it('bare ID of a profile-only model (the seed\'s "no prefix" example)', () => {
    const d = only(bedrock(good, { model: 'anthropic.claude-opus-4-6-v1' }), 'on-demand-not-supported');
    assert.match(d.message, /on-demand throughput isn\u2019t supported/);
    assert.match(d.fix, /global\.anthropic\.claude-opus-4-6-v1/);
  });
  it('model not offered in the region or geography', () => {
    const d = only(
      bedrock(good, { model: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', region: 'ap-south-1' }),
      'model-not-in-region',
    );
    assert.match(d.message, /United States regions/);
    only(
      checkRequest({
        format: 'anthropic',
        region: 'ap-northeast-1',
        scope: 'geo',
        body: { model: 'claude-haiku-4-5', max_tokens: 5, messages: msgs },
      }),
      'model-not-in-region',
    );
  });
  it('missing or invalid region', () => {
    only(bedrock(good, { region: undefined }), 'missing-region');
    only(bedrock(good, { region: 'west' }), 'invalid-region');
  });
  it('missing or wrong anthropic_version', () => {
    const { anthropic_version: _, ...noVersion } = good;
    const d = only(bedrock(noVersion), 'anthropic-version');
    assert.match(d.bedrock!.message, /required key \[anthropic_version\] not found/);
    assert.equal(only(bedrock({ ...good, anthropic_version: '2023-06-01' }), 'anthropic-version').severity, 'warning');
    assert.equal(only(bedrock({ ...good, anthropic_version: 'v1' }), 'anthropic-version').severity, 'error');
  });
  it('model or stream inside a Bedrock body, and other extraneous keys', () => {
    const ds = bedrock({ ...good, model: 'claude-opus-4-6', stream: true, betas: ['x'] });
    assert.match(
      only(ds, 'body-model').bedrock!.message,
      /^Malformed input request: #: extraneous key \[model\] is not permitted, please reformat your input and try again\.$/,
    );
    assert.match(only(ds, 'body-stream').fix, /invoke-with-response-stream/);
    assert.match(only(ds, 'extraneous-key').fix, /anthropic_beta/);
  });
  it('required keys and their shapes', () => {
    assert.match(
      only(bedrock({ anthropic_version: 'bedrock-2023-05-31', messages: msgs }), 'required-key').message,
      /required key \[max_tokens\] not found/,
    );
    only(bedrock({ ...good, max_tokens: 0 }), 'max-tokens-invalid');
    only(bedrock({ ...good, max_tokens: -3 }), 'max-tokens-invalid');
    only(bedrock({ ...good, messages: [] }), 'messages-invalid');
    only(bedrock({ ...good, messages: [{ role: 'system', content: 'x' }] }), 'messages-invalid');
    only(bedrock('not an object'), 'body-not-object');
    assert.ok(
      !codes(bedrock({ anthropic_version: 'bedrock-2023-05-31', messages: msgs }, { path: 'count-tokens' })).includes(
        'required-key',
      ),
    );
  });
  it("fields of the wrong JSON type, in the schema validator's words", () => {
    const d = only(bedrock({ ...good, tools: 5 }), 'field-type');
    assert.equal(
      d.bedrock!.message,
      'Malformed input request: #/tools: expected type: JSONArray, found: Integer, please reformat your input and try again.',
    );
    assert.deepEqual(
      bedrock({
        ...good,
        temperature: '0.5',
        top_k: 1.5,
        system: null,
        stop_sequences: [1],
        metadata: [],
        thinking: true,
        tool_choice: 'auto',
      })
        .map((x) => x.location)
        .sort(),
      [
        'body.metadata',
        'body.stop_sequences',
        'body.system',
        'body.temperature',
        'body.thinking',
        'body.tool_choice',
        'body.top_k',
      ],
    );
    assert.deepEqual(
      bedrock({
        ...good,
        temperature: 0.5,
        top_k: 5,
        system: [{ type: 'text', text: 's' }],
        stop_sequences: ['x'],
        metadata: {},
        tools: [],
        tool_choice: { type: 'auto' },
      }),
      [],
    );
  });
  it('betas in the anthropic-beta header where the body field is needed', () => {
    const d = only(bedrock(good, { headers: { 'Anthropic-Beta': 'context-1m-2025-08-07' } }), 'beta-in-header');
    assert.match(d.fix, /"anthropic_beta": \["context-1m-2025-08-07"\]/);
    assert.deepEqual(
      bedrock(
        { ...good, anthropic_beta: ['context-1m-2025-08-07'] },
        { headers: { 'anthropic-beta': 'context-1m-2025-08-07' } },
      ),
      [],
    );
  });
  it('an Anthropic API key sent to Bedrock', () => {
    const d = only(bedrock(good, { headers: { 'x-api-key': 'sk-ant-xxx' } }), 'anthropic-api-key');
    assert.match(d.message, /IAM credentials/);
    assert.ok(!JSON.stringify(d).includes('sk-ant-xxx'), 'never echo the key');
  });
  it('invalid beta flags, renamed betas, and the 1M beta on a model without it', () => {
    const ds = bedrock({
      ...good,
      anthropic_beta: [
        'files-api-2025-04-14',
        'advanced-tool-use-2025-11-20',
        'claude-code-20250219',
        'made-up-2030-01-01',
      ],
    });
    const flagged = ds.filter((d) => d.code === 'invalid-beta');
    // A source says Bedrock refuses the first; the second has another name there; the third's sources
    // disagree (a warning, never a refusal); the fourth no source names (it passes).
    assert.deepEqual(
      flagged.map((d) => [d.location, d.severity]),
      [
        ['body.anthropic_beta[0]', 'error'],
        ['body.anthropic_beta[1]', 'error'],
        ['body.anthropic_beta[2]', 'warning'],
      ],
    );
    assert.equal(ds[0]!.bedrock!.message, 'invalid beta flag');
    only(
      bedrock(
        { ...good, anthropic_beta: ['context-1m-2025-08-07'] },
        { model: 'global.anthropic.claude-haiku-4-5-20251001-v1:0' },
      ),
      'context-1m-unsupported',
    );
    const anthropic = checkRequest({
      format: 'anthropic',
      region: 'us-west-2',
      body: { model: 'claude-haiku-4-5', max_tokens: 5, messages: msgs },
      headers: { 'anthropic-beta': 'files-api-2025-04-14' },
    });
    assert.equal(only(anthropic, 'invalid-beta').severity, 'warning');
  });
  it('temperature and top_p together where the model rejects it', () => {
    const d = only(bedrock({ ...good, temperature: 0.5, top_p: 0.9 }), 'temperature-and-top-p');
    assert.equal(
      d.bedrock!.message,
      'The model returned the following errors: `temperature` and `top_p` cannot both be specified for this model. Please use only one.',
    );
    assert.deepEqual(
      bedrock({ ...good, temperature: 0.5, top_p: 0.9 }, { model: 'us.anthropic.claude-3-7-sonnet-20250219-v1:0' }),
      [],
    );
  });
  it("empty turns and text blocks, and a prefill ending in whitespace, in Bedrock's words", () => {
    const said = (ds: Diagnostic[]) =>
      ds
        .filter((d) => d.code === 'empty-content')
        .map((d) => [d.location, d.bedrock!.message.replace('The model returned the following errors: ', '')]);
    const turns = (...messages: unknown[]) => bedrock({ ...good, messages });
    assert.deepEqual(said(turns({ role: 'user', content: '' })), [
      [
        'body.messages[0].content',
        'messages.0: all messages must have non-empty content except for the optional final assistant message',
      ],
    ]);
    assert.deepEqual(
      said(turns({ role: 'user', content: 'a' }, { role: 'assistant', content: [] }, { role: 'user', content: 'b' })),
      [
        [
          'body.messages[1].content',
          'messages.1: all messages must have non-empty content except for the optional final assistant message',
        ],
      ],
    );
    assert.deepEqual(
      said(
        turns({
          role: 'user',
          content: [
            { type: 'text', text: 'look:' },
            { type: 'text', text: '' },
          ],
        }),
      ),
      [['body.messages[0].content[1].text', 'messages: text content blocks must be non-empty']],
    );
    assert.deepEqual(said(turns({ role: 'user', content: ' \n' })), [
      ['body.messages[0].content', 'messages: text content blocks must contain non-whitespace text'],
    ]);
    assert.deepEqual(said(turns({ role: 'user', content: 'a' }, { role: 'assistant', content: 'Sure, ' })), [
      ['body.messages[1].content', 'messages: final assistant content cannot end with trailing whitespace'],
    ]);
    assert.equal(only(turns({ role: 'user', content: '' }), 'empty-content').bedrock!.exception, 'ValidationException');
    // What Bedrock takes: an empty prefill, a prefill with no trailing space, whitespace inside text, a
    // trailing space before a tool call, empty tool results, and the same conversation on the Anthropic front.
    assert.deepEqual(turns({ role: 'user', content: 'a' }, { role: 'assistant', content: '' }), []);
    assert.deepEqual(turns({ role: 'user', content: 'a' }, { role: 'assistant', content: 'Sure,' }), []);
    assert.deepEqual(turns({ role: 'user', content: ' a b ' }), []);
    assert.deepEqual(
      turns(
        { role: 'user', content: 'a' },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Let me look. ' },
            { type: 'tool_use', id: 't1', name: 'ls', input: {} },
          ],
        },
      ),
      [],
    );
    assert.deepEqual(
      turns(
        { role: 'user', content: 'a' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'ls', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: '' }] },
      ),
      [],
    );
    assert.deepEqual(
      codes(
        checkRequest({
          format: 'anthropic',
          region: 'us-west-2',
          body: { model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: '' }] },
        }),
      ),
      ['empty-content'],
    );
  });
  it('a prompt over the context window without the 1M beta', () => {
    const long = { ...good, messages: [{ role: 'user', content: 'x'.repeat(900_000) }] };
    const sonnet45 = { model: 'global.anthropic.claude-sonnet-4-5-20250929-v1:0' };
    const d = only(bedrock(long, sonnet45), 'prompt-too-long');
    assert.match(d.fix, /context-1m-2025-08-07/);
    assert.deepEqual(bedrock({ ...long, anthropic_beta: ['context-1m-2025-08-07'] }, sonnet45), []);
    assert.deepEqual(bedrock(long), [], 'Opus 4.6 has 1M tokens without the beta (its Bedrock model card)');
    assert.match(
      only(bedrock(long, { model: 'global.anthropic.claude-haiku-4-5-20251001-v1:0' }), 'prompt-too-long').fix,
      /Shorten/,
    );
  });
  it('max_tokens above the model maximum', () => {
    const d = only(
      bedrock({ ...good, max_tokens: 64_001 }, { model: 'global.anthropic.claude-sonnet-4-5-20250929-v1:0' }),
      'max-tokens-over-limit',
    );
    assert.match(d.message, /64001 > 64000/);
    assert.deepEqual(bedrock({ ...good, max_tokens: 128_000 }), []);
  });
  it('APIs and server tools Bedrock does not have', () => {
    for (const path of ['/v1/messages/batches', '/v1/files', '/v1/skills', '/v1/models']) {
      only(
        checkRequest({
          format: 'anthropic',
          region: 'us-west-2',
          path,
          body: { model: 'claude-opus-4-6', max_tokens: 1, messages: msgs },
        }),
        'unsupported-on-bedrock',
      );
    }
    const tools = [
      { type: 'web_search_20250305', name: 'web_search' },
      { type: 'code_execution_20250825', name: 'x' },
      { name: 'f', input_schema: { type: 'object' }, defer_loading: true },
    ];
    const ds = bedrock({ ...good, tools });
    assert.equal(ds.filter((d) => d.code === 'unsupported-on-bedrock').length, 3);
    const mcp = checkRequest({
      format: 'anthropic',
      region: 'us-west-2',
      body: { model: 'claude-opus-4-6', max_tokens: 1, messages: msgs, mcp_servers: [] },
    });
    assert.match(only(mcp, 'unsupported-on-bedrock').message, /MCP connector/);
    assert.equal(only(bedrock({ ...good, context_management: {} }), 'field-needs-beta').severity, 'error');
    assert.deepEqual(
      bedrock({ ...good, context_management: {}, anthropic_beta: ['context-management-2025-06-27'] }),
      [],
    );
  });
  it('hasErrors and the estimate', () => {
    assert.equal(hasErrors(bedrock({ ...good, anthropic_version: '2023-06-01' })), false);
    assert.equal(hasErrors(bedrock({})), true);
    assert.equal(estimateInputTokens({ messages: msgs }), 7);
    assert.equal(
      estimateInputTokens({
        system: [{ type: 'text', text: 'abcd' }],
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image' },
              { type: 'document' },
              { type: 'tool_result', content: 'abcd' },
              { type: 'thinking', thinking: 'abcd' },
              { type: 'other' },
            ],
          },
        ],
        tools: [{ name: 'x' }],
      }),
      1 + 4 + 1600 + 3000 + 9 + 1 + 4 + 4,
    );
  });
});
