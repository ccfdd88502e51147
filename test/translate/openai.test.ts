import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BedrockClaudeError } from '../../src/errors.js';
import { isPrivateAddress } from '../../src/server/fetch-images.js';
import { openAIToAnthropic } from '../../src/translate/openai.js';
import {
  anthropicEventToOpenAI,
  anthropicToOpenAIResponse,
  newOpenAIStreamState,
  openAIErrorBody,
  openAIStatus,
} from '../../src/translate/openai-response.js';

const options = { defaultMaxTokens: 4096 };
const user = [{ role: 'user', content: 'hi' }];

describe('OpenAI chat completions → Messages', () => {
  it('maps options: reasoning_effort to a thinking budget that fits max_tokens, tool_choice, parallel calls, stop, user', () => {
    const body = openAIToAnthropic(
      {
        model: 'm',
        messages: user,
        reasoning_effort: 'medium',
        tools: [{ type: 'function', function: { name: 'f' } }],
        tool_choice: 'auto',
        parallel_tool_calls: false,
        stop: 'END',
        user: 'u-1',
        seed: 7,
        store: false,
      },
      options,
    );
    assert.deepEqual(body['thinking'], { type: 'enabled', budget_tokens: 4096 });
    assert.equal(body['max_tokens'], 8192);
    assert.deepEqual(body['tool_choice'], { type: 'auto', disable_parallel_tool_use: true });
    assert.deepEqual(body['tools'], [{ name: 'f', input_schema: { type: 'object', properties: {} } }]);
    assert.deepEqual(body['stop_sequences'], ['END']);
    assert.deepEqual(body['metadata'], { user_id: 'u-1' });
    assert.equal(
      openAIToAnthropic({ model: 'm', messages: user, reasoning_effort: 'high', max_completion_tokens: 3000 }, options)[
        'thinking'
      ] &&
        (
          openAIToAnthropic(
            { model: 'm', messages: user, reasoning_effort: 'high', max_completion_tokens: 3000 },
            options,
          )['thinking'] as { budget_tokens: number }
        ).budget_tokens,
      2999,
    );
    assert.equal(openAIToAnthropic({ model: 'm', messages: user, max_tokens: 77 }, options)['max_tokens'], 77);
    assert.match(
      String(
        (
          openAIToAnthropic({ model: 'm', messages: user, response_format: { type: 'json_object' } }, options)[
            'system'
          ] as Array<{ text: string }>
        )[0]!.text,
      ),
      /JSON object/,
    );
    const doc = openAIToAnthropic(
      {
        model: 'm',
        messages: [
          {
            role: 'user',
            content: [{ type: 'file', file: { filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBERg==' } }],
          },
        ],
      },
      options,
    );
    assert.deepEqual((doc['messages'] as Array<{ content: unknown[] }>)[0]!.content[0], {
      type: 'document',
      source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERg==' },
      title: 'a.pdf',
    });
  });

  it('refuses what Claude cannot honour, naming the parameter and why', () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ n: 3 }, 'n', /one choice per request/],
      [{ logprobs: true }, 'logprobs', /log probabilities/],
      [{ top_logprobs: 2 }, 'logprobs', /log probabilities/],
      [{ audio: { voice: 'x' } }, 'audio', /Audio output/],
      [{ modalities: ['text', 'audio'] }, 'audio', /Audio output/],
      [{ presence_penalty: 0.5 }, 'presence_penalty', /not supported/],
      [{ logit_bias: { '1': 2 } }, 'logit_bias', /not supported/],
      [{ temperature: 1.5 }, 'temperature', /0 to 1/],
      [{ functions: [] }, 'functions', /deprecated/],
      [{ reasoning_effort: 'extreme' }, 'reasoning_effort', /expected none/],
      [{ reasoning_effort: 'low', max_completion_tokens: 1000 }, 'max_completion_tokens', /above 1024/],
      [{ response_format: { type: 'xml' } }, 'response_format.type', /expected text/],
      [{ frobnicate: 1 }, 'frobnicate', /Unrecognized request argument/],
      [
        { messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: {} }] }] },
        'messages[0].content[0]',
        /Audio input/,
      ],
      [
        { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://x' } }] }] },
        'messages[0].content[0].image_url.url',
        /expected a data URL/,
      ],
      [
        {
          messages: [
            {
              role: 'assistant',
              tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: '{oops' } }],
            },
          ],
        },
        'messages[0].tool_calls[0].function.arguments',
        /not valid JSON/,
      ],
      [{ messages: [{ role: 'tool', content: 'x' }] }, 'messages[0].tool_call_id', /tool_call_id/],
      [{ messages: [{ role: 'wizard', content: 'x' }] }, 'messages[0].role', /expected system/],
      [{ messages: [] }, 'messages', /Missing required parameter/],
      [{ model: 5 }, 'model', /Missing required parameter: 'model'/],
    ];
    for (const [extra, param, pattern] of cases) {
      assert.throws(
        () => openAIToAnthropic(Object.assign({ model: 'm', messages: user }, extra), options),
        (e: BedrockClaudeError) => e.status === 400 && e.param === param && pattern.test(e.message),
        JSON.stringify(extra),
      );
    }
    // Zero penalties and n = 1 are what OpenAI's own defaults send: accepted.
    assert.doesNotThrow(() =>
      openAIToAnthropic(
        {
          model: 'm',
          messages: user,
          n: 1,
          presence_penalty: 0,
          frequency_penalty: 0,
          logprobs: false,
          seed: 1,
          service_tier: 'auto',
        },
        options,
      ),
    );
  });
});

describe('Messages → OpenAI chat completions', () => {
  const meta = { id: 'chatcmpl-1', created: 1764547200, model: 'claude-haiku-4-5' };

  it('a message: text joined, tool calls, thinking as reasoning_content, usage with cached tokens', () => {
    const out = anthropicToOpenAIResponse(
      {
        content: [
          { type: 'thinking', thinking: 'hmm' },
          { type: 'text', text: 'a' },
          { type: 'text', text: 'b' },
          { type: 'tool_use', id: 't', name: 'f', input: { x: 1 } },
        ],
        stop_reason: 'tool_use',
        usage: { input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 100, cache_creation_input_tokens: 20 },
      },
      meta,
    );
    const choice = (out['choices'] as Array<{ message: Record<string, unknown>; finish_reason: string }>)[0]!;
    assert.equal(choice.message['content'], 'ab');
    assert.equal(choice.message['reasoning_content'], 'hmm');
    assert.deepEqual(choice.message['tool_calls'], [
      { id: 't', type: 'function', function: { name: 'f', arguments: '{"x":1}' } },
    ]);
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.deepEqual(out['usage'], {
      prompt_tokens: 130,
      completion_tokens: 5,
      total_tokens: 135,
      prompt_tokens_details: { cached_tokens: 100 },
    });
    for (const [stop, finish] of [
      ['end_turn', 'stop'],
      ['stop_sequence', 'stop'],
      ['max_tokens', 'length'],
      ['refusal', 'content_filter'],
    ]) {
      assert.equal(
        (
          anthropicToOpenAIResponse(
            { content: [], stop_reason: stop, usage: { input_tokens: 1, output_tokens: 1 } },
            meta,
          )['choices'] as Array<{ finish_reason: string }>
        )[0]!.finish_reason,
        finish,
      );
    }
  });

  it('stream events: role first, tool calls numbered by their own index, finish, usage last', () => {
    const state = newOpenAIStreamState(meta, true);
    const chunks = [
      { type: 'message_start', message: { usage: { input_tokens: 7, output_tokens: 1 } } },
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi' } },
      { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'a', name: 'f' } },
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"q":' } },
      { type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'b', name: 'g' } },
      { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{}' } },
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '1}' } },
      { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 9 } },
      { type: 'message_stop' },
    ].flatMap((e) => anthropicEventToOpenAI(e, state)) as Array<{
      choices: Array<{ delta: Record<string, unknown>; finish_reason: string | null }>;
      usage: unknown;
    }>;
    assert.deepEqual(chunks[0]!.choices[0]!.delta, { role: 'assistant', content: '', refusal: null });
    assert.equal(chunks[1]!.choices[0]!.delta['content'], 'hi');
    const calls = chunks.flatMap(
      (c) =>
        (c.choices[0]?.delta['tool_calls'] as Array<{ index: number; function: { arguments: string } }> | undefined) ??
        [],
    );
    assert.deepEqual(
      calls.map((c) => [c.index, c.function.arguments]),
      [
        [0, ''],
        [0, '{"q":'],
        [1, ''],
        [1, '{}'],
        [0, '1}'],
      ],
    );
    assert.equal(chunks[chunks.length - 2]!.choices[0]!.finish_reason, 'tool_calls');
    assert.deepEqual(chunks[chunks.length - 1]!.choices, []);
    assert.deepEqual(chunks[chunks.length - 1]!.usage, {
      prompt_tokens: 7,
      completion_tokens: 9,
      total_tokens: 16,
      prompt_tokens_details: { cached_tokens: 0 },
    });
  });

  it("errors in OpenAI's shape and statuses", () => {
    const overloaded = new BedrockClaudeError('busy', { status: 529, type: 'overloaded_error' });
    assert.equal(openAIStatus(overloaded), 503);
    assert.deepEqual(openAIErrorBody(overloaded), {
      error: { message: 'busy', type: 'server_error', param: null, code: 'overloaded' },
    });
    assert.deepEqual(
      openAIErrorBody(new BedrockClaudeError('no key', { status: 401, type: 'authentication_error', fix: 'send one' })),
      {
        error: {
          message: 'no key. Fix: send one',
          type: 'invalid_request_error',
          param: null,
          code: 'invalid_api_key',
        },
      },
    );
  });
});

describe('image fetching guard', () => {
  it('knows the addresses no image is fetched from', () => {
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      '::',
      'fc00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
      '224.0.0.1',
      'not-an-ip',
    ])
      assert.equal(isPrivateAddress(a), true, a);
    for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8'])
      assert.equal(isPrivateAddress(a), false, a);
  });
});
