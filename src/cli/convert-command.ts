import type { Command } from 'commander';
import { findModelForId, resolveModel, type Scope } from '../catalog/resolve-model.js';
import { BedrockClaudeError } from '../errors.js';
import { CALL_FORMATS, renderBedrockCall, type CallFormat } from '../translate/render-call.js';
import { fromBedrockBody, toBedrockRequest } from '../translate/to-bedrock.js';
import { EXIT, fail, paint, readInput } from './output.js';
import { parseScope } from './options.js';
import { needRegion } from './region.js';

interface ConvertFlags {
  to?: CallFormat;
  from: 'anthropic' | 'bedrock';
  region?: string;
  scope: Scope;
  model?: string;
}

export function registerConvertCommand(program: Command): void {
  program
    .command('convert')
    .description(
      'Turn an Anthropic request into the Bedrock call (model resolved, anthropic_version and anthropic_beta placed ' +
        'right), or a Bedrock body back into an Anthropic request.',
    )
    .argument('[file]', 'the request (JSON); - or nothing reads stdin')
    .option('--to <format>', `${CALL_FORMATS.join(' | ')}`)
    .option('--from <format>', 'anthropic (default) | bedrock', 'anthropic')
    .option('-r, --region <region>', 'AWS region (default AWS_REGION, then AWS_DEFAULT_REGION)')
    .option('--scope <scope>', 'global | geo | in-region', parseScope, 'global' as Scope)
    .option('-m, --model <id>', 'with --from bedrock: the Bedrock model ID the body was sent to')
    .addHelpText(
      'after',
      `
Examples:
  bedrock-claude convert request.json --to aws-cli --region us-west-2
  bedrock-claude convert request.json --to boto3 --region eu-west-1 --scope geo
  bedrock-claude convert body.json --from bedrock --model global.anthropic.claude-opus-4-6-v1`,
    )
    .action(runConvert);
}

async function runConvert(file: string | undefined, flags: ConvertFlags): Promise<void> {
  try {
    const text = readInput(file);
    if (text === undefined) {
      console.error('error: give a file, or - for stdin');
      process.exitCode = EXIT.usage;
      return;
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch (err) {
      throw new BedrockClaudeError(`The input is not valid JSON: ${(err as Error).message}`, {
        status: 400,
        type: 'invalid_request_error',
      });
    }
    if (flags.from === 'bedrock') fromBedrock(body, flags.model);
    else await toBedrock(body, flags);
  } catch (err) {
    fail(err);
  }
}

/** A Bedrock body back into an Anthropic request, with its betas. */
function fromBedrock(body: Record<string, unknown>, model: string | undefined): void {
  if (!model)
    throw new BedrockClaudeError('--from bedrock needs --model: a Bedrock body does not name its model.', {
      status: 400,
      type: 'invalid_request_error',
      fix: 'Add --model global.anthropic.claude-opus-4-6-v1 (the ID from the URL or --model-id).',
    });
  const entry = findModelForId(model);
  const { body: anthropic, headers } = fromBedrockBody(body, entry?.name ?? model);
  const betas = headers['anthropic-beta']?.split(',');
  console.log(JSON.stringify({ ...anthropic, ...(betas ? { betas } : {}) }, null, 2));
  if (betas)
    console.error(
      paint(
        process.stderr,
        'dim',
        `note: send the betas as the anthropic-beta header (${headers['anthropic-beta']}), or as \`betas\` ` +
          `with client.beta.messages`,
      ),
    );
}

/** An Anthropic request as the Bedrock call, in the format asked for. */
async function toBedrock(body: Record<string, unknown>, flags: ConvertFlags): Promise<void> {
  if (!flags.to || !(CALL_FORMATS as readonly string[]).includes(flags.to)) {
    console.error(`error: --to is one of ${CALL_FORMATS.join(', ')}`);
    process.exitCode = EXIT.usage;
    return;
  }
  const region = (await needRegion(flags.region)).region;
  if (typeof body['model'] !== 'string')
    throw new BedrockClaudeError('The request has no "model".', {
      status: 400,
      type: 'invalid_request_error',
      fix: 'Add "model", e.g. "claude-sonnet-4-6".',
    });
  const resolved = resolveModel(body['model'], { region, scope: flags.scope });
  const translated = toBedrockRequest(
    { path: '/v1/messages', body },
    { modelId: resolved.modelId, model: resolved.model },
  );
  console.log(renderBedrockCall(translated, { modelId: resolved.modelId, region: resolved.region, format: flags.to }));
  console.error(paint(process.stderr, 'dim', `note: ${resolved.explanation}`));
  for (const r of translated.removals) console.error(paint(process.stderr, 'yellow', `dropped ${r.name}: ${r.reason}`));
}
