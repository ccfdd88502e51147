/**
 * Property tests of the Responses translation (fast-check, fixed seed): any request either translates or is refused
 * with our error (never another exception), and keeps every text, call and result it carries; any answer comes out
 * the same whether it was streamed (the events, then `response.completed`) or not.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BedrockClaudeError } from '../../src/errors.js';
import { responsesToAnthropic, type ResponsesMeta } from '../../src/translate/responses.js';
import { anthropicToResponse } from '../../src/translate/responses-response.js';
import { anthropicEventToResponses, newResponsesStreamState } from '../../src/translate/responses-stream.js';

const SEED = Number(process.env['FC_SEED'] ?? 20261207);
const params = { seed: SEED, numRuns: 300 };
const text = fc.string({ minLength: 1, maxLength: 40 });
const callId = fc.stringMatching(/^call_[a-z0-9]{4,8}$/);

const messageItem = fc.record({
  type: fc.constant('message'),
  role: fc.constantFrom('user', 'assistant', 'developer', 'system'),
  content: fc.oneof(
    text,
    fc.array(fc.record({ type: fc.constantFrom('input_text', 'output_text'), text }), { minLength: 1, maxLength: 3 }),
  ),
});
const callPair = fc.tuple(callId, fc.constantFrom('lookup', 'search'), text).map(([id, name, out]) => [
  { type: 'function_call', call_id: id, name, arguments: JSON.stringify({ q: out }) },
  { type: 'function_call_output', call_id: id, output: out },
]);
const request = fc.record(
  {
    model: fc.constant('claude-haiku-4-5'),
    input: fc
      .array(
        fc.oneof(
          messageItem.map((m) => [m]),
          callPair,
        ),
        { minLength: 1, maxLength: 6 },
      )
      .map((xs) => xs.flat()),
    instructions: text,
    max_output_tokens: fc.integer({ min: 1, max: 5000 }),
    temperature: fc.double({ min: -1, max: 3, noNaN: true }),
    store: fc.boolean(),
    tool_choice: fc.constantFrom('auto', 'none', 'required', 'sometimes'),
    extra: fc.constant(1),
  },
  { requiredKeys: ['model', 'input'] },
);

const textsOf = (x: unknown): string => JSON.stringify(x);

describe('the Responses translation, by property', () => {
  it('a request translates or is refused with our error, and keeps every text, call and output', () => {
    fc.assert(
      fc.property(request, (req) => {
        let out: { body: Record<string, unknown> };
        try {
          out = responsesToAnthropic(req as Record<string, unknown>, { defaultMaxTokens: 4096 });
        } catch (err) {
          assert.ok(err instanceof BedrockClaudeError, String(err));
          assert.equal(err.status, 400);
          return;
        }
        assert.ok(!('extra' in req), 'an unknown argument is refused');
        const all = textsOf([out.body['system'], out.body['messages']]);
        for (const item of req.input as Array<Record<string, unknown>>) {
          if (item['type'] === 'message') {
            const parts =
              typeof item['content'] === 'string'
                ? [item['content']]
                : (item['content'] as Array<{ text: string }>).map((p) => p.text);
            for (const p of parts) assert.ok(all.includes(JSON.stringify(p).slice(1, -1)), `text kept: ${p}`);
          } else assert.ok(all.includes(JSON.stringify(item['call_id'])), `call kept: ${String(item['call_id'])}`);
        }
      }),
      params,
    );
  });

  it('an answer streamed comes out as the same response as not streamed', () => {
    const block = fc.oneof(
      text.map((t) => ({ type: 'text', text: t })),
      fc.tuple(callId, text).map(([id, q]) => ({ type: 'tool_use', id, name: 'lookup', input: { q } })),
      text.map((t) => ({ type: 'thinking', thinking: t, signature: 'sig' })),
    );
    fc.assert(
      fc.property(
        fc.array(block, { minLength: 1, maxLength: 6 }),
        fc.constantFrom('end_turn', 'max_tokens', 'tool_use'),
        (blocks, stop) => {
          const content = blocks as Array<Record<string, string> & { input?: unknown }>;
          const meta: ResponsesMeta = {
            namespaced: new Map(),
            encryptedReasoning: true,
            summary: true,
            echo: {},
            dropped: [],
          };
          const ids = { id: 'resp_x', created: 1, model: 'claude-haiku-4-5' };
          const usage = { input_tokens: 5, output_tokens: 7 };
          const whole = anthropicToResponse({ content, stop_reason: stop, usage }, ids, meta);
          const state = newResponsesStreamState(ids, meta);
          const events: Array<Record<string, unknown>> = [
            { type: 'message_start', message: { usage: { input_tokens: 5, output_tokens: 0 } } },
          ];
          content.forEach((b, index) => {
            const start =
              b.type === 'tool_use'
                ? { type: 'tool_use', id: b.id, name: b.name, input: {} }
                : b.type === 'text'
                  ? { type: 'text', text: '' }
                  : { type: 'thinking', thinking: '' };
            events.push({ type: 'content_block_start', index, content_block: start });
            if (b.type === 'text')
              events.push({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: b.text } });
            if (b.type === 'tool_use')
              events.push({
                type: 'content_block_delta',
                index,
                delta: { type: 'input_json_delta', partial_json: JSON.stringify(b.input) },
              });
            if (b.type === 'thinking') {
              events.push({
                type: 'content_block_delta',
                index,
                delta: { type: 'thinking_delta', thinking: b.thinking },
              });
              events.push({ type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: 'sig' } });
            }
            events.push({ type: 'content_block_stop', index });
          });
          events.push(
            { type: 'message_delta', delta: { stop_reason: stop }, usage: { output_tokens: 7 } },
            { type: 'message_stop' },
          );
          const sse = events.map((e) => anthropicEventToResponses(e, state)).join('');
          const last = sse.trim().split('\n\n').at(-1)!;
          const done = JSON.parse(last.slice(last.indexOf('data: ') + 6)) as {
            response: Record<string, unknown>;
            sequence_number: number;
          };
          assert.deepEqual(done.response['output'], whole['output']);
          assert.deepEqual([done.response['status'], done.response['usage']], [whole['status'], whole['usage']]);
          const seqs = [...sse.matchAll(/"sequence_number":(\d+)/g)].map((m) => Number(m[1]));
          assert.deepEqual(
            seqs,
            seqs.map((_, i) => i),
          );
        },
      ),
      params,
    );
  });
});
