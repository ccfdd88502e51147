// Clients that speak the Responses API by default, through the gateway on the emulator: the OpenAI Agents SDK
// (`@openai/agents`, its OpenAI provider on Responses, tracing off) with a tool and a handoff, and the AI SDK's
// `openai(...)` provider (`@ai-sdk/openai`: generateText, streamText, a tool). The emulator's script makes the
// model call the tools and the handoff.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createOpenAI } from '@ai-sdk/openai';
import { Agent, OpenAIProvider, Runner, setTracingDisabled, tool as agentTool } from '@openai/agents';
import { generateText, stepCountIs, streamText, tool } from 'ai';
import { z } from 'zod';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import type { RunningGateway } from '../../src/server/gateway.js';
import { gatewayOn } from '../helpers.js';

let emu: RunningEmulator;
let gw: RunningGateway;

before(async () => {
  setTracingDisabled(true);
  emu = await startEmulator({
    port: 0,
    script: {
      rules: [
        { match: { text: 'sunny' }, reply: { text: 'It is sunny in Paris.' } },
        { match: { text: 'weather in Paris' }, reply: { toolUse: { name: 'get_weather', input: { city: 'Paris' } } } },
        { match: { text: 'Spanish Agent' }, reply: { text: 'Hola desde el agente.' } },
        { match: { text: 'in Spanish' }, reply: { toolUse: { name: 'transfer_to_Spanish_Agent', input: {} } } },
      ],
    },
  });
  gw = await gatewayOn(emu.url);
});
after(async () => {
  await gw.close(100);
  await emu.close();
});

describe('the OpenAI Agents SDK (its default: the Responses API)', () => {
  const runner = () =>
    new Runner({
      modelProvider: new OpenAIProvider({ apiKey: 'unused', baseURL: `${gw.url}/v1`, useResponses: true }),
    });
  const weather = agentTool({
    name: 'get_weather',
    description: "A city's weather",
    parameters: z.object({ city: z.string() }),
    execute: async ({ city }) => `sunny in ${city}`,
  });

  it('runs an agent with a tool: the call, its output back, the final answer', async () => {
    const agent = new Agent({
      name: 'Weather',
      instructions: 'Answer about weather.',
      model: 'claude-haiku-4-5',
      tools: [weather],
    });
    const result = await runner().run(agent, 'What is the weather in Paris?');
    assert.equal(result.finalOutput, 'It is sunny in Paris.');
    const sent = emu.received.at(-1)!.body as { messages: Array<{ content: Array<Record<string, unknown>> }> };
    const toolResult = sent.messages.at(-1)!.content.find((b) => b['type'] === 'tool_result')!;
    assert.match(JSON.stringify(toolResult['content']), /sunny in Paris/);
  });

  it('hands off to another agent', async () => {
    const spanish = new Agent({ name: 'Spanish Agent', instructions: 'Answer in Spanish.', model: 'claude-haiku-4-5' });
    const triage = new Agent({
      name: 'Triage',
      instructions: 'Route.',
      model: 'claude-haiku-4-5',
      handoffs: [spanish],
    });
    const result = await runner().run(triage, 'Answer me in Spanish, please');
    assert.equal(result.lastAgent?.name, 'Spanish Agent');
    assert.equal(result.finalOutput, 'Hola desde el agente.');
  });
});

describe("the AI SDK's openai(...) provider (the Responses API)", () => {
  const provider = () => createOpenAI({ apiKey: 'unused', baseURL: `${gw.url}/v1` });

  it('generateText and streamText', async () => {
    const r = await generateText({ model: provider()('claude-haiku-4-5'), prompt: 'hello ai sdk' });
    assert.equal(r.text, 'hello ai sdk');
    assert.ok(r.usage.outputTokens! > 0);
    assert.equal(emu.received.at(-1)!.operation, 'invoke');
    const s = streamText({ model: provider()('claude-haiku-4-5'), prompt: 'streamed ai sdk' });
    let text = '';
    for await (const part of s.textStream) text += part;
    assert.equal(text, 'streamed ai sdk');
  });

  it('a tool, run for two steps', async () => {
    const r = await generateText({
      model: provider()('claude-haiku-4-5'),
      prompt: 'What is the weather in Paris?',
      tools: {
        get_weather: tool({
          description: "A city's weather",
          inputSchema: z.object({ city: z.string() }),
          execute: async ({ city }) => `sunny in ${city}`,
        }),
      },
      stopWhen: stepCountIs(3),
    });
    assert.equal(r.text, 'It is sunny in Paris.');
    assert.equal(r.steps.length, 2);
  });
});
