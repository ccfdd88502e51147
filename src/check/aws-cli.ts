import { parse as parseShell } from 'shell-quote';
import type { Diagnostic } from './diagnostic.js';

/** What an `aws bedrock-runtime invoke-model ...` command line says. */
export interface AwsCliCall {
  operation: string;
  region: string | undefined;
  modelId: string | undefined;
  /** The `--body` text, or `undefined` when it is a `file://` reference (see `bodyFile`). */
  body: string | undefined;
  bodyFile: string | undefined;
  /** Whether `--cli-binary-format raw-in-base64-out` is present (AWS CLI v2 needs it for raw JSON). */
  rawInBase64Out: boolean;
  outfile: string | undefined;
  diagnostics: Diagnostic[];
}

const OPERATIONS = ['invoke-model', 'invoke-model-with-response-stream', 'count-tokens', 'converse', 'converse-stream'];

/**
 * Parses an AWS CLI command line for Bedrock Runtime (shell quoting as a shell would), and reports
 * the mistakes that belong to the command line itself.
 *
 * @example
 * ```ts
 * parseAwsCliCommand(`aws bedrock-runtime invoke-model --region us-west-2 --model-id
 * global.anthropic.claude-opus-4-6-v1 --body '{"max_tokens":1}' out.json`).modelId;
 * ```
 */
export function parseAwsCliCommand(line: string): AwsCliCall {
  const words = parseShell(line.replace(/\\\n/g, ' ')).map((w) =>
    typeof w === 'string' ? w : 'op' in w ? w.op : String(w),
  );
  const diagnostics: Diagnostic[] = [];
  const start = words.indexOf('bedrock-runtime');
  const operation = start >= 0 ? words[start + 1] : undefined;
  if (!operation || !OPERATIONS.includes(operation)) {
    diagnostics.push({
      code: 'aws-cli-command',
      severity: 'error',
      location: 'command',
      message: 'Not an `aws bedrock-runtime invoke-model` command line.',
      fix:
        'Pass the whole command, e.g. --aws-cli "aws bedrock-runtime invoke-model --region us-west-2 --model-id ' +
        "... --body '{...}' out.json\".",
    });
  }
  const { flags, positional } = splitFlags(words, Math.max(start + 2, 0));
  const str = (name: string) => (typeof flags.get(name) === 'string' ? (flags.get(name) as string) : undefined);
  const bodyArg = str('body');
  const bodyFile =
    bodyArg?.startsWith('file://') || bodyArg?.startsWith('fileb://') ? bodyArg.replace(/^fileb?:\/\//, '') : undefined;
  const rawInBase64Out = str('cli-binary-format') === 'raw-in-base64-out';
  const region = str('region');
  if (operation === 'invoke-model' || operation === 'invoke-model-with-response-stream') {
    diagnostics.push(...invokeModelDiagnostics(operation, bodyArg, bodyFile, rawInBase64Out, positional));
  }
  if (str('content-type') && str('content-type') !== 'application/json') {
    diagnostics.push({
      code: 'aws-cli-content-type',
      severity: 'error',
      location: '--content-type',
      message: `--content-type ${str('content-type')} is not what Claude on Bedrock takes.`,
      fix: 'Use --content-type application/json.',
    });
  }
  return {
    operation: operation ?? '',
    region,
    modelId: str('model-id'),
    body: bodyFile ? undefined : bodyArg,
    bodyFile,
    rawInBase64Out,
    outfile: positional[positional.length - 1],
    diagnostics,
  };
}

/** `--name value`, `--name=value` and bare `--flag` words, and the positional words, after `start`. */
function splitFlags(words: string[], start: number): { flags: Map<string, string | true>; positional: string[] } {
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  for (let i = start; i < words.length; i++) {
    const w = words[i]!;
    if (!w.startsWith('--')) {
      positional.push(w);
      continue;
    }
    const eq = w.indexOf('=');
    if (eq > 0) flags.set(w.slice(2, eq), w.slice(eq + 1));
    else if (i + 1 < words.length && !words[i + 1]!.startsWith('--')) flags.set(w.slice(2), words[++i]!);
    else flags.set(w.slice(2), true);
  }
  return { flags, positional };
}

/** The body, binary format and output file mistakes of `invoke-model` and its streaming form. */
function invokeModelDiagnostics(
  operation: string,
  bodyArg: string | undefined,
  bodyFile: string | undefined,
  rawInBase64Out: boolean,
  positional: string[],
): Diagnostic[] {
  const out: Diagnostic[] = [];
  if (bodyArg !== undefined && !bodyFile && !rawInBase64Out && bodyArg.trimStart().startsWith('{')) {
    out.push({
      code: 'aws-cli-binary-format',
      severity: 'warning',
      location: '--body',
      message: 'AWS CLI v2 reads --body as base64 unless told otherwise: raw JSON fails with "Invalid base64".',
      fix: 'Add --cli-binary-format raw-in-base64-out (or pass the body as file://body.json).',
    });
  }
  if (operation === 'invoke-model' && !positional.length) {
    out.push({
      code: 'aws-cli-outfile',
      severity: 'error',
      location: 'command',
      message: 'invoke-model needs an output file as its last argument.',
      fix: 'End the command with a file name, e.g. output.json.',
    });
  }
  if (bodyArg === undefined) {
    out.push({
      code: 'aws-cli-body',
      severity: 'error',
      location: '--body',
      message: 'No --body given.',
      fix: 'Add --body \'{"anthropic_version": "bedrock-2023-05-31", "max_tokens": 256, "messages": [...]}\'.',
    });
  }
  return out;
}
