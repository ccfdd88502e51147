import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAwsCliCommand } from '../../src/check/aws-cli.js';
import { CALL_FORMATS, renderBedrockCall } from '../../src/translate/render-call.js';
import { toBedrockRequest } from '../../src/translate/to-bedrock.js';

const OPUS = 'global.anthropic.claude-opus-4-6-v1';
const req = (extra: Record<string, unknown> = {}) =>
  toBedrockRequest(
    {
      path: '/v1/messages',
      body: {
        model: 'claude-opus-4-6',
        max_tokens: 64,
        temperature: 0.5,
        stop_sequences: [],
        metadata: { user_id: null, vip: true, x: false },
        messages: [{ role: 'user', content: "It's here" }],
        ...extra,
      },
    },
    { modelId: OPUS },
  );

describe('renderBedrockCall', () => {
  it('writes an AWS CLI command that parses back to the same call', () => {
    const text = renderBedrockCall(req(), { modelId: OPUS, region: 'us-west-2', format: 'aws-cli' });
    const call = parseAwsCliCommand(text);
    assert.equal(call.operation, 'invoke-model');
    assert.equal(call.region, 'us-west-2');
    assert.equal(call.modelId, OPUS);
    assert.ok(call.rawInBase64Out);
    assert.deepEqual(JSON.parse(call.body!), req().body);
    assert.equal(call.outfile, 'output.json');
    assert.deepEqual(call.diagnostics, []);
    assert.match(
      renderBedrockCall(req({ stream: true }), { modelId: OPUS, region: 'us-west-2', format: 'aws-cli' }),
      /invoke-model-with-response-stream/,
    );
  });
  it('writes every format, streaming or not, with Python literals', () => {
    for (const format of CALL_FORMATS) {
      for (const stream of [false, true]) {
        const out = renderBedrockCall(req(stream ? { stream: true } : {}), {
          modelId: OPUS,
          region: 'eu-west-1',
          format,
        });
        assert.ok(out.length > 20, `${format} ${stream}`);
      }
    }
    const py = renderBedrockCall(req(), { modelId: OPUS, region: 'eu-west-1', format: 'boto3' });
    assert.match(py, /"user_id": None/);
    assert.match(py, /"vip": True/);
    assert.match(py, /"x": False/);
    assert.match(py, /"stop_sequences": \[\]/);
    const ts = renderBedrockCall(
      toBedrockRequest(
        {
          path: '/v1/messages',
          headers: { 'anthropic-beta': 'context-1m-2025-08-07' },
          body: { model: 'x', max_tokens: 1, messages: [] },
        },
        { modelId: OPUS },
      ),
      { modelId: OPUS, region: 'us-west-2', format: 'typescript' },
    );
    assert.match(ts, /client\.beta\.messages\.create\(/);
    assert.match(ts, /"betas": \[/);
    assert.match(
      renderBedrockCall(req(), { modelId: OPUS, region: 'us-west-2', format: 'python' }),
      /message = client\.messages\.create\(\n {4}model="global\.anthropic\.claude-opus-4-6-v1",/,
    );
    assert.match(
      renderBedrockCall(req(), { modelId: OPUS, region: 'us-west-2', format: 'curl' }),
      /--data '\{"anthropic_version":"bedrock-2023-05-31".*It'\\''s here/,
    );
  });
});

describe('parseAwsCliCommand', () => {
  it('reads flags with = and file:// bodies, and flags command-line mistakes', () => {
    const c = parseAwsCliCommand(
      'aws bedrock-runtime invoke-model --region=eu-west-1 --model-id x --body file://b.json --content-type text/plain out.json',
    );
    assert.equal(c.region, 'eu-west-1');
    assert.equal(c.bodyFile, 'b.json');
    assert.equal(c.body, undefined);
    assert.deepEqual(
      c.diagnostics.map((d) => d.code),
      ['aws-cli-content-type'],
    );
    assert.deepEqual(
      parseAwsCliCommand('aws s3 ls').diagnostics.map((d) => d.code),
      ['aws-cli-command'],
    );
    assert.deepEqual(
      parseAwsCliCommand('aws bedrock-runtime invoke-model --region us-west-2 --model-id x')
        .diagnostics.map((d) => d.code)
        .sort(),
      ['aws-cli-body', 'aws-cli-outfile'],
    );
    const flag = parseAwsCliCommand('aws bedrock-runtime converse --model-id x --debug');
    assert.equal(flag.operation, 'converse');
  });
});
