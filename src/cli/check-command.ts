import type { Command } from 'commander';
import type { Scope } from '../catalog/resolve-model.js';
import { parseAwsCliCommand } from '../check/aws-cli.js';
import { checkRequest } from '../check/check-request.js';
import type { Diagnostic } from '../check/diagnostic.js';
import { EXIT, paint, readInput } from './output.js';
import { parseScope } from './options.js';
import { readFileSync } from 'node:fs';
import { nonEmpty } from '../aws/env-region.js';
import { findRegion } from './region.js';

interface CheckFlags {
  awsCli?: string;
  region?: string;
  model?: string;
  scope?: Scope;
  format?: 'anthropic' | 'bedrock';
  json?: boolean;
}

const SEVERITY_STYLE = { error: 'red', warning: 'yellow', info: 'cyan' } as const;

/** Prints diagnostics like a linter: location, severity, code, message, then the fix. */
export function printDiagnostics(
  diagnostics: readonly Diagnostic[],
  source: string,
  stream: NodeJS.WriteStream = process.stderr,
): void {
  for (const d of diagnostics) {
    stream.write(
      `${source}:${d.location ?? '-'}  ${paint(stream, SEVERITY_STYLE[d.severity], d.severity)}  ` +
        `${paint(stream, 'bold', d.code)}  ${d.message}\n`,
    );
    stream.write(`    ${paint(stream, 'green', 'fix:')} ${d.fix}\n`);
  }
}

export function registerCheckCommand(program: Command): void {
  program
    .command('check')
    .description(
      'Lint an Anthropic or Bedrock request body, or an `aws bedrock-runtime invoke-model` command line, for the ' +
        'mistakes Bedrock would reject.',
    )
    .argument('[file]', 'the request body (JSON); - or nothing reads stdin')
    .option('--aws-cli <command>', 'an AWS CLI command line to check instead of a file')
    .option('-r, --region <region>', "AWS region (default: the command line's --region, AWS_REGION)")
    .option('-m, --model <id>', 'the model ID (for a Bedrock body, which has none)')
    .option('--scope <scope>', 'global | geo | in-region', parseScope)
    .option(
      '--format <format>',
      'anthropic | bedrock (default: bedrock when the body has anthropic_version or --model is given)',
    )
    .option('--json', 'print the diagnostics as JSON')
    .addHelpText(
      'after',
      `
Exit codes: 0 no errors (warnings allowed), 1 errors found, 2 bad usage.

Examples:
  bedrock-claude check request.json --region us-west-2
  bedrock-claude check body.json --model anthropic.claude-opus-4-6-v1 --region us-west-2
  bedrock-claude check --aws-cli "aws bedrock-runtime invoke-model --region us-west-2 --model-id " +
    "anthropic.claude-opus-4-6-v1 --body '{...}' out.json"`,
    )
    .action(runCheck);
}

/** What the input says: its source, body, region, model and format, and what was wrong reading it. */
interface CheckInput {
  source: string;
  body: unknown;
  region: string | undefined;
  model: string | undefined;
  format: CheckFlags['format'];
  diagnostics: Diagnostic[];
}

async function runCheck(file: string | undefined, flags: CheckFlags): Promise<void> {
  // AWS_REGION, AWS_DEFAULT_REGION or the profile's, when neither --region nor the command line says one.
  const fallback = (await findRegion(undefined))?.region;
  const input = flags.awsCli ? readAwsCliInput(flags.awsCli, flags, fallback) : readFileInput(file, flags, fallback);
  if (!input) {
    console.error('error: give a file, - for stdin, or --aws-cli "..."');
    process.exitCode = EXIT.usage;
    return;
  }
  const { source, body, region, model, diagnostics } = input;
  let format = input.format;
  // A body that could not be read or parsed is already reported; the model and region are still checked.
  const bodyReported = diagnostics.some((d) => d.code === 'invalid-json' || d.code === 'body-file-unreadable');
  if (body !== undefined || (bodyReported && model !== undefined)) {
    const b = body as Record<string, unknown>;
    // A Bedrock body carries anthropic_version, or comes with the model ID it is sent to (--model).
    format ??=
      model !== undefined || (b && typeof b === 'object' && 'anthropic_version' in b) ? 'bedrock' : 'anthropic';
    const found = checkRequest({ format, body, model, region, scope: flags.scope });
    // The command line reports a missing region itself, with its own location.
    diagnostics.push(
      ...found.filter(
        (d) =>
          !(flags.awsCli && d.code === 'missing-region' && diagnostics.some((x) => x.code === 'missing-region')) &&
          !(bodyReported && d.code === 'body-not-object'),
      ),
    );
  }
  if (flags.json)
    console.log(JSON.stringify({ source, format: format ?? null, region: region ?? null, diagnostics }, null, 2));
  else if (diagnostics.length) printDiagnostics(diagnostics, source, process.stdout);
  else console.log(`${source}: no problems found${region ? ` for ${region}` : ''}`);
  process.exitCode = diagnostics.some((d) => d.severity === 'error') ? EXIT.refused : EXIT.ok;
}

function readFileInput(file: string | undefined, flags: CheckFlags, fallback?: string): CheckInput | undefined {
  const text = readInput(file);
  if (text === undefined) return undefined;
  const diagnostics: Diagnostic[] = [];
  const body = parseOrReport(text, diagnostics);
  const region = nonEmpty(flags.region) ?? fallback;
  const source = file && file !== '-' ? file : 'stdin';
  return { source, body, region, model: flags.model, format: flags.format, diagnostics };
}

function readAwsCliInput(line: string, flags: CheckFlags, fallback?: string): CheckInput {
  const call = parseAwsCliCommand(line);
  const diagnostics: Diagnostic[] = [...call.diagnostics];
  let text = call.body;
  if (call.bodyFile) {
    try {
      text = readFileSync(call.bodyFile, 'utf8');
    } catch (err) {
      // The rest of the command line is still worth checking.
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
      diagnostics.push({
        code: 'body-file-unreadable',
        severity: 'error',
        location: '--body',
        message: `Cannot read the body file ${call.bodyFile} (${why}), so the body was not checked.`,
        fix:
          'Run the check from the folder the command runs in, or give the path the AWS CLI will see: ' +
          'file:// paths are relative to the current directory.',
      });
    }
  }
  const body = text === undefined ? undefined : parseOrReport(text, diagnostics);
  if (!call.region)
    diagnostics.push({
      code: 'missing-region',
      severity: 'error',
      location: '--region',
      message:
        'No --region on the command line: the CLI falls back to its default region, which may not have the model.',
      fix: 'Always pass --region explicitly, e.g. --region us-west-2.',
    });
  return {
    source: 'aws-cli',
    body,
    region: nonEmpty(flags.region) ?? nonEmpty(call.region) ?? fallback,
    model: flags.model ?? call.modelId,
    format: flags.format ?? 'bedrock',
    diagnostics,
  };
}

function parseOrReport(text: string, diagnostics: Diagnostic[]): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    diagnostics.push({
      code: 'invalid-json',
      severity: 'error',
      location: 'body',
      message: `The body is not valid JSON: ${(err as Error).message}`,
      fix: 'Fix the JSON (quotes, commas); with the AWS CLI, quote the body with single quotes.',
    });
    return undefined;
  }
}
