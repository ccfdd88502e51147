// Runnable library example: starts the built-in emulator, then talks to it the way you would talk
// to Bedrock. Against real Bedrock, drop `endpoint` and the keys: the default AWS credential chain
// and AWS_REGION are used. Run it with `node examples/quickstart.mjs` after `npm run build`.
import { createBedrockClaude, estimateCost, resolveModel, startEmulator, EMULATOR_CREDENTIALS } from 'bedrock-claude';

const emulator = await startEmulator({ port: 0 });

// Any model name works: Anthropic names, short names, Bedrock IDs, profile IDs, ARNs.
const resolved = resolveModel('sonnet-4.6', { region: 'eu-west-1', scope: 'geo' });
console.log(resolved.modelId); // eu.anthropic.claude-sonnet-4-6
console.log(resolved.explanation);

const claude = createBedrockClaude({
  region: 'eu-west-1',
  scope: 'geo',
  endpoint: emulator.url,
  ...EMULATOR_CREDENTIALS,
});
const message = await claude.messages.create({
  model: 'sonnet-4.6',
  max_tokens: 256,
  messages: [{ role: 'user', content: 'Hello from the quick start' }],
});
console.log(message.content[0].text);
console.log(
  `cost: $${estimateCost(message.usage, 'claude-sonnet-4-6', 'geo').usd.toFixed(6)} (geo profile, 10% premium included)`,
);

for await (const event of claude.messages.stream({
  model: 'opus-4.6',
  max_tokens: 256,
  messages: [{ role: 'user', content: 'Streamed, token by token' }],
})) {
  if (event.type === 'content_block_delta') process.stdout.write(event.delta.text ?? '');
}
process.stdout.write('\n');

await claude.close();
await emulator.close();
