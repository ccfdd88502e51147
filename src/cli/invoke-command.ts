import type { Command } from 'commander';
import { estimateCost, type Usage } from '../catalog/estimate-cost.js';
import { resolveModel, type Scope } from '../catalog/resolve-model.js';
import { checkRequest } from '../check/check-request.js';
import { BedrockClaudeError } from '../errors.js';
import { EXIT, fail, paint, readInput, spinner } from './output.js';
import { parseInteger, parseScope } from './options.js';
import { printDiagnostics } from './check-command.js';
import { findRegion, regionNote } from './region.js';

interface InvokeFlags {
  model?: string;
  region?: string;
  scope: Scope;
  system?: string;
  maxTokens?: number;
  beta: string[];
  file?: string;
  stream: boolean;
  json?: boolean;
  endpoint?: string;
  profile?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerInvokeCommand(program: Command): void {
  program
    .command('invoke')
    .description('Send a prompt to Claude on Bedrock and stream the answer; usage and cost go to stderr.')
    .argument('[prompt]', 'the prompt (default: read from stdin)')
    .option(
      '-m, --model <model>',
      "any name the resolver takes: opus-4.6, claude-sonnet-4-6, a profile ID, an ARN (default: the file's model, " +
        'else claude-sonnet-4-6)',
    )
    .option('-r, --region <region>', 'AWS region (default AWS_REGION, then AWS_DEFAULT_REGION)')
    .option('--scope <scope>', 'global | geo | in-region', parseScope, 'global' as Scope)
    .option('-s, --system <text>', 'system prompt')
    .option('--max-tokens <n>', 'maximum output tokens (default 1024)', parseInteger)
    .option('--beta <name>', 'a beta to enable (repeatable)', collect, [] as string[])
    .option(
      '-f, --file <request.json>',
      'an Anthropic Messages request body to send (the prompt, if any, is added as a user turn)',
    )
    .option('--no-stream', 'wait for the whole answer')
    .option('--json', 'print the whole response as JSON')
    .option('--endpoint <url>', 'Bedrock endpoint override (the emulator, a VPC endpoint)')
    .option('--profile <name>', 'AWS profile')
    .addHelpText(
      'after',
      `
Exit codes: 0 done, 1 refused (preflight or 4xx), 2 bad usage, 3 Bedrock or network failure.

Examples:
  bedrock-claude invoke "Explain quantum computing in simple terms" --region us-west-2
  echo "Summarise this" | bedrock-claude invoke --model opus-4.6 --scope geo --region eu-west-1
  bedrock-claude invoke --file request.json --beta context-1m-2025-08-07 --json`,
    )
    .action(async (prompt: string | undefined, flags: InvokeFlags) => {
      try {
        await invoke(prompt, flags);
      } catch (err) {
        fail(err, flags.json);
      }
    });
}

async function invoke(prompt: string | undefined, flags: InvokeFlags): Promise<void> {
  const found = await findRegion(flags.region, flags.profile);
  const region = found?.region;
  const note = found && regionNote(found);
  if (note) console.error(paint(process.stderr, 'dim', note));
  const body = requestBody(prompt, flags);
  if (!body) {
    console.error('error: no prompt: pass it as an argument, on stdin, or in --file');
    process.exitCode = EXIT.usage;
    return;
  }
  const betaHeader = flags.beta.length ? { 'anthropic-beta': flags.beta.join(',') } : undefined;
  const diagnostics = checkRequest({ format: 'anthropic', body, headers: betaHeader, region, scope: flags.scope });
  if (diagnostics.length) printDiagnostics(diagnostics, 'request');
  if (diagnostics.some((d) => d.severity === 'error')) {
    process.exitCode = EXIT.refused;
    return;
  }
  const model = String(body['model']);
  const resolved = resolveModel(model, { region, scope: flags.scope });
  for (const note of resolved.notes) console.error(paint(process.stderr, 'dim', `note: ${note}`));
  const { createBedrockClaude } = await import('../client/create-client.js');
  const claude = createBedrockClaude({ region, scope: flags.scope, endpoint: flags.endpoint, profile: flags.profile });
  const wait = spinner(`waiting for ${resolved.modelId} in ${resolved.region}`);
  const call: Call = { claude, body: { ...body, model }, options: betaHeader ? { headers: betaHeader } : {}, wait };
  try {
    if (!flags.stream || flags.json) {
      const message = await claude.messages.create(call.body, call.options);
      wait.stop();
      const usage = message['usage'] as Usage;
      if (flags.json) printJson(message, usage, resolved);
      else printText(message, usage, resolved);
    } else {
      printUsage(await streamAnswer(call), resolved);
    }
  } finally {
    wait.stop();
    await claude.close();
  }
}

type Client = ReturnType<typeof import('../client/create-client.js').createBedrockClaude>;

interface Call {
  claude: Client;
  body: Record<string, unknown> & { model: string };
  options: { headers?: Record<string, string> };
  wait: { stop(): void };
}

/** The request from --file, the prompt (argument or stdin), --model, --max-tokens and --system. */
function requestBody(prompt: string | undefined, flags: InvokeFlags): Record<string, unknown> | undefined {
  const fileText = flags.file ? readInput(flags.file) : undefined;
  let body: Record<string, unknown> = {};
  if (fileText) {
    try {
      body = JSON.parse(fileText) as Record<string, unknown>;
    } catch {
      throw new BedrockClaudeError(`${flags.file} is not valid JSON.`, {
        status: 400,
        type: 'invalid_request_error',
        fix: 'Write the Anthropic Messages request as JSON.',
      });
    }
  }
  const text = prompt ?? (fileText ? undefined : readInput(undefined)?.trim());
  const messages = Array.isArray(body['messages']) ? [...(body['messages'] as unknown[])] : [];
  if (text) messages.push({ role: 'user', content: text });
  if (!messages.length) return undefined;
  body = {
    ...body,
    model: flags.model ?? body['model'] ?? 'claude-sonnet-4-6',
    max_tokens: flags.maxTokens ?? body['max_tokens'] ?? 1024,
    messages,
  };
  if (flags.system) body['system'] = flags.system;
  delete body['stream'];
  return body;
}

/** Prints text deltas to stdout and thinking to stderr as they come; answers the usage. */
async function streamAnswer({ claude, body, options, wait }: Call): Promise<Usage> {
  let usage: Usage = { input_tokens: 0, output_tokens: 0 };
  for await (const event of claude.messages.stream(body, options)) {
    wait.stop();
    if (event['type'] === 'message_start')
      usage = { ...usage, ...((event['message'] as { usage?: Usage }).usage ?? {}) };
    if (event['type'] === 'message_delta') usage = { ...usage, ...((event['usage'] as Partial<Usage>) ?? {}) } as Usage;
    if (event['type'] === 'content_block_delta') {
      const delta = event['delta'] as { type: string; text?: string; thinking?: string };
      if (delta.type === 'text_delta') process.stdout.write(delta.text ?? '');
      else if (delta.type === 'thinking_delta')
        process.stderr.write(paint(process.stderr, 'dim', delta.thinking ?? ''));
    }
  }
  process.stdout.write('\n');
  return usage;
}

type Resolved = ReturnType<typeof resolveModel>;

function costOf(usage: Usage, resolved: Resolved) {
  return resolved.model
    ? estimateCost(usage, resolved.model, resolved.prefix === 'global' ? 'global' : resolved.scope)
    : undefined;
}

function printJson(message: Record<string, unknown>, usage: Usage, resolved: Resolved): void {
  const costUsd = costOf(usage, resolved)?.usd ?? null;
  console.log(JSON.stringify({ modelId: resolved.modelId, region: resolved.region, message, costUsd }, null, 2));
}

function printText(message: Record<string, unknown>, usage: Usage, resolved: Resolved): void {
  for (const block of message['content'] as Array<{ type: string; text?: string }>)
    if (block.type === 'text') process.stdout.write(block.text ?? '');
  process.stdout.write('\n');
  printUsage(usage, resolved);
}

/** The model, tokens and cost on stderr, dimmed. */
function printUsage(usage: Usage, resolved: Resolved): void {
  const cost = costOf(usage, resolved);
  const premium =
    cost && cost.multiplier > 1 ? ` incl. ${Math.round((cost.multiplier - 1) * 100)}% regional premium` : '';
  console.error(
    paint(
      process.stderr,
      'dim',
      `${resolved.modelId} · ${usage.input_tokens} in, ${usage.output_tokens} ` +
        `out${cost ? ` · $${cost.usd.toFixed(6)}${premium}` : ''}`,
    ),
  );
}
