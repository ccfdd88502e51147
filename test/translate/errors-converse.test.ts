import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BedrockClaudeError } from '../../src/errors.js';
import {
  anthropicEventToConverse,
  anthropicToConverseResponse,
  converseToAnthropic,
  type ConverseStreamState,
} from '../../src/translate/converse.js';
import {
  amznErrorType,
  fixForBedrockMessage,
  fromBedrockError,
  parseAmznErrorType,
  toAnthropicErrorBody,
  toBedrockError,
} from '../../src/translate/errors.js';

describe('errors both ways', () => {
  it('maps every Bedrock exception to the Anthropic status and type', () => {
    const table: Array<[string, number, number, string]> = [
      ['ValidationException', 400, 400, 'invalid_request_error'],
      ['ServiceQuotaExceededException', 400, 429, 'rate_limit_error'],
      ['AccessDeniedException', 403, 403, 'permission_error'],
      ['ResourceNotFoundException', 404, 404, 'not_found_error'],
      ['ModelTimeoutException', 408, 504, 'timeout_error'],
      ['ModelErrorException', 424, 500, 'api_error'],
      ['ThrottlingException', 429, 429, 'rate_limit_error'],
      ['ModelNotReadyException', 429, 529, 'overloaded_error'],
      ['InternalServerException', 500, 500, 'api_error'],
      ['ServiceUnavailableException', 503, 529, 'overloaded_error'],
    ];
    for (const [name, status, aStatus, aType] of table) {
      const e = fromBedrockError(status, amznErrorType(name), JSON.stringify({ message: `m ${name}` }));
      assert.equal(e.status, aStatus, name);
      assert.equal(e.type, aType, name);
      assert.equal(e.message, `m ${name}`);
      const back = toBedrockError(e);
      assert.equal(back.name, name);
      assert.equal(back.status, status, name);
      assert.equal(back.headers['x-amzn-errortype'], `${name}:http://internal.amazon.com/coral/com.amazon.bedrock/`);
    }
  });
  it('falls back on the status when the header is missing, and keeps odd bodies', () => {
    assert.equal(fromBedrockError(429, undefined, '').type, 'rate_limit_error');
    assert.equal(fromBedrockError(503, null, '').status, 529);
    assert.equal(fromBedrockError(502, undefined, '<html>bad gateway</html>').message, '<html>bad gateway</html>');
    assert.equal(fromBedrockError(401, undefined, '{"Message":"no"}').message, 'no');
    assert.equal(fromBedrockError(404, undefined, '{}').type, 'not_found_error');
    assert.equal(fromBedrockError(504, undefined, '{}').type, 'timeout_error');
    assert.equal(fromBedrockError(418, undefined, '{}').type, 'invalid_request_error');
    assert.equal(parseAmznErrorType('ThrottlingException:http://x'), 'ThrottlingException');
    assert.equal(parseAmznErrorType(''), undefined);
  });
  it('adds the fix for the mistakes people make most', () => {
    const e = fromBedrockError(
      400,
      'ValidationException',
      '{"message":"Invocation of model ID anthropic.claude-3-7-sonnet-20250219-v1:0 with on-demand throughput isn\u2019t supported. Retry your request with the ID or ARN of an inference profile that contains this model."}',
    );
    assert.match(e.fix ?? '', /global\./);
    assert.match(toAnthropicErrorBody(e, 'req_1').error.message, /Fix: Call the model through an inference profile/);
    assert.equal(toAnthropicErrorBody(e, 'req_1').request_id, 'req_1');
    assert.match(fixForBedrockMessage('invalid beta flag') ?? '', /anthropic_beta/);
    assert.equal(fixForBedrockMessage('something else'), undefined);
    assert.equal(fromBedrockError(429, 'ThrottlingException', '{}', 3).retryAfter, 3);
  });
  it('maps Anthropic types to Bedrock exceptions for the emulator and Bedrock front', () => {
    const cases: Array<[BedrockClaudeError['type'], string, number]> = [
      ['authentication_error', 'UnrecognizedClientException', 403],
      ['request_too_large', 'ValidationException', 413],
      ['timeout_error', 'ModelTimeoutException', 408],
      ['overloaded_error', 'ServiceUnavailableException', 503],
    ];
    for (const [type, name, status] of cases) {
      const out = toBedrockError(new BedrockClaudeError('x', { status: 1, type }));
      assert.equal(out.name, name);
      assert.equal(out.status, status);
    }
    assert.equal(
      toBedrockError(
        new BedrockClaudeError('x', { status: 403, type: 'permission_error', bedrockType: 'ExpiredTokenException' }),
      ).status,
      403,
    );
    assert.equal(
      toBedrockError(
        new BedrockClaudeError('x', { status: 400, type: 'invalid_request_error', bedrockType: 'not a name' }),
      ).name,
      'ValidationException',
    );
  });
});

describe('Converse', () => {
  it('turns a Converse request into a Messages body, every block kept', () => {
    const body = converseToAnthropic(
      {
        messages: [
          {
            role: 'user',
            content: [
              { text: 'hi' },
              { image: { format: 'png', source: { bytes: 'AAA' } } },
              { cachePoint: { type: 'default' } },
              {
                document: { format: 'md', name: 'Notes', source: { bytes: Buffer.from('# title').toString('base64') } },
              },
              {
                document: {
                  format: 'txt',
                  name: 'T',
                  source: { content: [{ text: 'a' }, { text: 'b' }] },
                  citations: { enabled: true },
                  context: 'ctx',
                },
              },
            ],
          },
          {
            role: 'assistant',
            content: [
              { reasoningContent: { reasoningText: { text: 't', signature: 's' } } },
              { reasoningContent: { redactedContent: Buffer.from('opaque').toString('base64') } },
              { toolUse: { toolUseId: 'tu', name: 'f', input: { a: 1 } } },
            ],
          },
          {
            role: 'user',
            content: [
              {
                toolResult: {
                  toolUseId: 'tu',
                  content: [{ text: 'r' }, { json: { x: 1 } }, { image: { format: 'jpeg', source: { bytes: 'BBB' } } }],
                  status: 'error',
                },
              },
            ],
          },
        ],
        system: [{ text: 'sys' }, { cachePoint: { type: 'default', ttl: '1h' } }],
        inferenceConfig: { maxTokens: 50, temperature: 0.1, topP: 0.2, stopSequences: ['X'] },
        toolConfig: {
          tools: [
            { toolSpec: { name: 'f', description: 'd', inputSchema: { json: { type: 'object' } } } },
            { cachePoint: {} },
          ],
          toolChoice: { any: {} },
        },
        additionalModelRequestFields: { top_k: 5, anthropic_beta: ['context-1m-2025-08-07'] },
        outputConfig: {
          textFormat: { type: 'json_schema', structure: { jsonSchema: { schema: '{"type":"object"}', name: 'o' } } },
        },
      },
      4096,
    );
    assert.deepEqual(body['system'], [{ type: 'text', text: 'sys', cache_control: { type: 'ephemeral', ttl: '1h' } }]);
    assert.equal(body['max_tokens'], 50);
    assert.equal(body['top_k'], 5);
    assert.deepEqual(body['anthropic_beta'], ['context-1m-2025-08-07']);
    assert.deepEqual(body['output_config'], { format: { type: 'json_schema', schema: { type: 'object' } } });
    assert.deepEqual(body['tool_choice'], { type: 'any' });
    assert.deepEqual(body['tools'], [
      { name: 'f', description: 'd', input_schema: { type: 'object' }, cache_control: { type: 'ephemeral' } },
    ]);
    const m = body['messages'] as Array<{ content: Array<Record<string, unknown>> }>;
    assert.deepEqual(m[0]!.content, [
      { type: 'text', text: 'hi' },
      {
        type: 'image',
        source: { type: 'base64', media_type: 'image/png', data: 'AAA' },
        cache_control: { type: 'ephemeral' },
      },
      { type: 'document', source: { type: 'text', media_type: 'text/plain', data: '# title' }, title: 'Notes' },
      {
        type: 'document',
        source: {
          type: 'content',
          content: [
            { type: 'text', text: 'a' },
            { type: 'text', text: 'b' },
          ],
        },
        title: 'T',
        context: 'ctx',
        citations: { enabled: true },
      },
    ]);
    assert.deepEqual(
      m[1]!.content.map((b) => b['type']),
      ['thinking', 'redacted_thinking', 'tool_use'],
    );
    assert.equal(m[1]!.content[1]!['data'], 'opaque');
    assert.deepEqual(m[2]!.content[0], {
      type: 'tool_result',
      tool_use_id: 'tu',
      content: [
        { type: 'text', text: 'r' },
        { type: 'text', text: '{"x":1}' },
        { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: 'BBB' } },
      ],
      is_error: true,
    });
    assert.deepEqual(
      converseToAnthropic({ messages: [], toolConfig: { tools: [], toolChoice: { tool: { name: 'g' } } } }, 10)[
        'tool_choice'
      ],
      { type: 'tool', name: 'g' },
    );
    assert.equal(converseToAnthropic({ messages: [] }, 10)['max_tokens'], 10);
  });

  it('refuses, with a message that says why, what has no Messages equivalent or is malformed', () => {
    const refusals: Array<[Record<string, unknown>, RegExp]> = [
      [{ messages: 'x' }, /#\/messages: must be an array/],
      [{ messages: [{ role: 'user', content: [{ video: {} }] }] }, /unsupported content block video/],
      [{ messages: [{ role: 'user', content: [1] }] }, /#\/messages\/0\/content\/0: expected an object/],
      [{ messages: [{ role: 'user', content: [{ text: 'a', image: {} }] }] }, /exactly one member/],
      [{ messages: [{ role: 'user', content: [{ cachePoint: {} }] }] }, /must follow the block it caches/],
      [{ messages: [{ role: 'user', content: [{ text: 'a' }, { cachePoint: { ttl: '2h' } }] }] }, /"5m" or "1h"/],
      [
        { messages: [{ role: 'user', content: [{ image: { format: 'bmp', source: { bytes: 'A' } } }] }] },
        /bmp is not one of png/,
      ],
      [
        {
          messages: [
            { role: 'user', content: [{ image: { format: 'png', source: { s3Location: { uri: 's3://b/k' } } } }] },
          ],
        },
        /from S3/,
      ],
      [
        {
          messages: [{ role: 'user', content: [{ document: { format: 'xlsx', name: 'x', source: { bytes: 'A' } } }] }],
        },
        /xlsx document has no Messages API equivalent/,
      ],
      [{ messages: [{ role: 'system', content: [] }] }, /"user" or "assistant"/],
      [{ messages: [], guardrailConfig: { guardrailIdentifier: 'g' } }, /guardrailConfig is not supported/],
      [{ messages: [], promptVariables: { a: { text: 'b' } } }, /promptVariables is not supported/],
      [{ messages: [], performanceConfig: { latency: 'optimized' } }, /optimized/],
      [{ messages: [], serviceTier: { type: 'flex' } }, /serviceTier "flex"/],
      [{ messages: [], bogus: 1 }, /extraneous key \[bogus\]/],
      [{ messages: [], inferenceConfig: { maxTokens: 5, topK: 3 } }, /extraneous key \[topK\]/],
      [
        { messages: [], inferenceConfig: { maxTokens: 5 }, additionalModelRequestFields: { max_tokens: 9 } },
        /repeats a field/,
      ],
      [{ messages: [], additionalModelResponseFieldPaths: ['stop_sequence'] }, /JSON pointers/],
      [{ messages: [{ role: 'user', content: [{ guardContent: { text: { text: 'x' } } }] }] }, /guardrails/],
    ];
    for (const [body, pattern] of refusals)
      assert.throws(() => converseToAnthropic(body, 10), pattern, JSON.stringify(body));
    assert.doesNotThrow(() =>
      converseToAnthropic(
        { messages: [], performanceConfig: { latency: 'standard' }, serviceTier: { type: 'default' } },
        10,
      ),
    );
  });

  it('turns a message and its events into Converse shapes', () => {
    const msg = {
      content: [
        { type: 'thinking', thinking: 't', signature: 's' },
        { type: 'redacted_thinking', data: 'opaque' },
        { type: 'text', text: 'a' },
        { type: 'tool_use', id: 'i', name: 'f', input: {} },
        { type: 'server_tool_use' },
      ],
      stop_reason: 'refusal',
      stop_sequence: null,
      usage: { input_tokens: 3, output_tokens: 4, cache_read_input_tokens: 1, cache_creation_input_tokens: 2 },
    };
    const out = anthropicToConverseResponse(msg, 12, ['/stop_sequence', '/usage/output_tokens', '/nope']);
    assert.deepEqual(out['usage'], {
      inputTokens: 3,
      outputTokens: 4,
      totalTokens: 10,
      cacheReadInputTokens: 1,
      cacheWriteInputTokens: 2,
    });
    assert.equal(out['stopReason'], 'content_filtered');
    assert.deepEqual(out['additionalModelResponseFields'], { stop_sequence: null, usage: { output_tokens: 4 } });
    assert.deepEqual((out['output'] as { message: { content: unknown[] } }).message.content[1], {
      reasoningContent: { redactedContent: Buffer.from('opaque').toString('base64') },
    });
    assert.equal((out['output'] as { message: { content: unknown[] } }).message.content.length, 4);
    const state: ConverseStreamState = {
      usage: { input_tokens: 0, output_tokens: 0 },
      latencyMs: 5,
      fieldPaths: ['/stop_sequence'],
    };
    const events = [
      { type: 'message_start', message: { usage: { input_tokens: 9, cache_read_input_tokens: 2 } } },
      { type: 'content_block_start', index: 0, content_block: { type: 'text' } },
      { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'x', name: 'f' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'a' } },
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{' } },
      { type: 'content_block_delta', index: 2, delta: { type: 'thinking_delta', thinking: 't' } },
      { type: 'content_block_delta', index: 2, delta: { type: 'signature_delta', signature: 's' } },
      { type: 'content_block_delta', index: 2, delta: { type: 'citations_delta' } },
      { type: 'content_block_start', index: 3, content_block: { type: 'redacted_thinking', data: 'r' } },
      { type: 'content_block_stop', index: 0 },
      {
        type: 'message_delta',
        delta: { stop_reason: 'stop_sequence', stop_sequence: 'X' },
        usage: { output_tokens: 4 },
      },
      { type: 'message_stop' },
      { type: 'ping' },
    ].map((e) => anthropicEventToConverse(e, state));
    assert.deepEqual(
      events.flat().map(([n]) => n),
      [
        'messageStart',
        'contentBlockStart',
        'contentBlockDelta',
        'contentBlockDelta',
        'contentBlockDelta',
        'contentBlockDelta',
        'contentBlockDelta',
        'contentBlockStop',
        'messageStop',
        'metadata',
      ],
    );
    assert.deepEqual(events[10]![0]![1], {
      stopReason: 'stop_sequence',
      additionalModelResponseFields: { stop_sequence: 'X' },
    });
    assert.deepEqual((events[11]![0]![1] as { usage: unknown }).usage, {
      inputTokens: 9,
      outputTokens: 4,
      totalTokens: 15,
      cacheReadInputTokens: 2,
    });
  });
});
