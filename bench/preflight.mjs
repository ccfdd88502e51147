// The preflight's cost on a Claude-Code-sized request (~80 KB: 20 tools, a long history of tool
// uses and results, cache points, thinking): checkRequest as the gateway runs it, and its block
// schema and cross-field rules alone, in microseconds (median of many runs), beside JSON.parse of
// the same body as the baseline measured in the same run. Run by `npm run bench:stages`; alone:
// `node bench/preflight.mjs`. The goal (the fidelity issue): checkRequest at most 20 us median.
import { checkRequest } from '../dist/check/check-request.js';
import { contentSchema } from '../dist/check/block-schema.js';
import { crossField } from '../dist/check/cross-field-rules.js';
import { getDefaultCatalog } from '../dist/catalog/catalog.js';
import { median, round } from './lib.mjs';

export function claudeCodeSizedBody() {
  const tools = Array.from({ length: 20 }, (_, i) => ({
    name: `tool_${i}`,
    description: 'Does one thing well. '.repeat(20),
    input_schema: {
      type: 'object',
      properties: {
        path: { type: 'string', description: 'a path' },
        limit: { type: 'integer' },
        flags: { type: 'array', items: { type: 'string' } },
      },
      required: ['path'],
    },
  }));
  const messages = [
    {
      role: 'user',
      content: [
        { type: 'text', text: '<system-reminder>context</system-reminder>' },
        { type: 'text', text: 'Fix the failing test in src/app.ts, please.' },
      ],
    },
  ];
  for (let i = 0; i < 30; i++) {
    messages.push({
      role: 'assistant',
      content: [
        { type: 'text', text: `Looking at step ${i}.` },
        { type: 'tool_use', id: `toolu_${i}`, name: `tool_${i % 20}`, input: { path: `src/file${i}.ts`, limit: 200 } },
      ],
    });
    messages.push({
      role: 'user',
      content: [
        {
          type: 'tool_result',
          tool_use_id: `toolu_${i}`,
          content: [{ type: 'text', text: 'line of output\n'.repeat(150) }],
        },
      ],
    });
  }
  messages[messages.length - 1].content[0].cache_control = { type: 'ephemeral' };
  return {
    anthropic_version: 'bedrock-2023-05-31',
    max_tokens: 32000,
    system: [
      { type: 'text', text: 'You are Claude Code.' },
      { type: 'text', text: 'Instructions. '.repeat(400), cache_control: { type: 'ephemeral' } },
    ],
    tools,
    messages,
    thinking: { type: 'enabled', budget_tokens: 4000 },
    metadata: { user_id: 'u' },
  };
}

function time(fn, runs) {
  for (let i = 0; i < 2000; i++) fn();
  const samples = [];
  for (let r = 0; r < 25; r++) {
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) fn();
    samples.push(((performance.now() - t0) * 1000) / runs);
  }
  return median(samples);
}

export function runPreflightBench({ quick = false } = {}) {
  const body = claudeCodeSizedBody();
  const text = JSON.stringify(body);
  const catalog = getDefaultCatalog();
  const input = {
    format: 'bedrock',
    body,
    model: 'global.anthropic.claude-opus-4-6-v1',
    region: 'us-west-2',
    path: 'invoke-with-response-stream',
    catalog,
  };
  const ctx = { input, catalog, body };
  if (checkRequest(input).some((d) => d.severity === 'error')) throw new Error('the bench body is refused');
  const runs = quick ? 200 : 1000;
  const parse = time(() => JSON.parse(text), runs);
  const full = time(() => checkRequest(input), runs);
  const rules = time(() => (contentSchema.run(ctx), crossField.run(ctx)), runs);
  return {
    bodyBytes: text.length,
    jsonParseUs: round(parse, 1),
    checkRequestUs: round(full, 1),
    schemaAndCrossFieldUs: round(rules, 1),
    checkRequestToParse: round(full / parse, 2),
    goalUs: 20,
  };
}

if (import.meta.url === `file://${process.argv[1]}`)
  console.log(JSON.stringify(runPreflightBench({ quick: process.argv.includes('--quick') }), null, 2));
