import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BedrockClaudeError } from '../../src/errors.js';
import { anthropicEventToConverse, anthropicToConverseResponse, converseToAnthropic } from '../../src/translate/converse.js';
import { amznErrorType, fixForBedrockMessage, fromBedrockError, parseAmznErrorType, toAnthropicErrorBody, toBedrockError } from '../../src/translate/errors.js';

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
    const e = fromBedrockError(400, 'ValidationException', '{"message":"Invocation of model ID anthropic.claude-3-7-sonnet-20250219-v1:0 with on-demand throughput isn\u2019t supported. Retry your request with the ID or ARN of an inference profile that contains this model."}');
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
    assert.equal(toBedrockError(new BedrockClaudeError('x', { status: 403, type: 'permission_error', bedrockType: 'ExpiredTokenException' })).status, 403);
    assert.equal(toBedrockError(new BedrockClaudeError('x', { status: 400, type: 'invalid_request_error', bedrockType: 'not a name' })).name, 'ValidationException');
  });
});

describe('Converse', () => {
  it('turns a Converse request into a Messages body', () => {
    const body = converseToAnthropic(
      {
        messages: [
          { role: 'user', content: [{ text: 'hi' }, { image: { format: 'png', source: { bytes: 'AAA' } } }, { cachePoint: {} }, { document: {} }] },
          { role: 'assistant', content: [{ reasoningContent: { reasoningText: { text: 't', signature: 's' } } }, { toolUse: { toolUseId: 'tu', name: 'f', input: { a: 1 } } }] },
          { role: 'user', content: [{ toolResult: { toolUseId: 'tu', content: [{ text: 'r' }, { json: { x: 1 } }], status: 'error' } }] },
        ],
        system: [{ text: 'sys' }],
        inferenceConfig: { maxTokens: 50, temperature: 0.1, topP: 0.2, stopSequences: ['X'] },
        toolConfig: { tools: [{ toolSpec: { name: 'f', description: 'd', inputSchema: { json: { type: 'object' } } } }, { cachePoint: {} }], toolChoice: { any: {} } },
        additionalModelRequestFields: { top_k: 5 },
      },
      4096,
    );
    assert.equal(body['system'], 'sys');
    assert.equal(body['max_tokens'], 50);
    assert.equal(body['top_k'], 5);
    assert.deepEqual(body['tool_choice'], { type: 'any' });
    assert.deepEqual((body['tools'] as unknown[])[0], { name: 'f', description: 'd', input_schema: { type: 'object' } });
    const m = body['messages'] as Array<{ content: Array<Record<string, unknown>> }>;
    assert.equal(m[0]!.content.length, 3);
    assert.equal(m[1]!.content[1]!['type'], 'tool_use');
    assert.equal(m[2]!.content[0]!['is_error'], true);
    assert.deepEqual(converseToAnthropic({ messages: [], toolConfig: { tools: [], toolChoice: { tool: { name: 'g' } } } }, 10)['tool_choice'], { type: 'tool', name: 'g' });
    assert.deepEqual(converseToAnthropic({ messages: [], toolConfig: { tools: [], toolChoice: { auto: {} } } }, 10)['tool_choice'], { type: 'auto' });
    assert.throws(() => converseToAnthropic({ messages: 'x' }, 10), /must be an array/);
    assert.throws(() => converseToAnthropic({ messages: [{ role: 'user', content: [{ video: {} }] }] }, 10), /unsupported content block/);
    assert.throws(() => converseToAnthropic({ messages: [{ role: 'user', content: [1] }] }, 10), /must be an object/);
  });
  it('turns a message and its events into Converse shapes', () => {
    const msg = { content: [{ type: 'thinking', thinking: 't', signature: 's' }, { type: 'text', text: 'a' }, { type: 'tool_use', id: 'i', name: 'f', input: {} }, { type: 'other' }], stop_reason: 'tool_use', usage: { input_tokens: 3, output_tokens: 4, cache_read_input_tokens: 1, cache_creation_input_tokens: 2 } };
    const out = anthropicToConverseResponse(msg, 12);
    assert.deepEqual(out['usage'], { inputTokens: 3, outputTokens: 4, totalTokens: 7, cacheReadInputTokens: 1, cacheWriteInputTokens: 2 });
    assert.equal(out['stopReason'], 'tool_use');
    const state = { usage: { input_tokens: 0, output_tokens: 0 }, latencyMs: 5 };
    const names = [
      { type: 'message_start', message: { usage: { input_tokens: 9 } } },
      { type: 'content_block_start', index: 0, content_block: { type: 'text' } },
      { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'x', name: 'f' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'a' } },
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{' } },
      { type: 'content_block_delta', index: 2, delta: { type: 'thinking_delta', thinking: 't' } },
      { type: 'content_block_delta', index: 2, delta: { type: 'signature_delta', signature: 's' } },
      { type: 'content_block_delta', index: 2, delta: { type: 'citations_delta' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 4 } },
      { type: 'message_stop' },
      { type: 'ping' },
    ].flatMap((e) => anthropicEventToConverse(e, state).map(([n]) => n));
    assert.deepEqual(names, ['messageStart', 'contentBlockStart', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockStop', 'messageStop', 'metadata']);
    assert.deepEqual(state.usage, { input_tokens: 9, output_tokens: 4 });
  });
});
