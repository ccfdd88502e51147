import type { Catalog, ModelEntry } from '../catalog/catalog.js';
import type { Scope } from '../catalog/resolve-model.js';

export type Severity = 'error' | 'warning' | 'info';

/** Every diagnostic code a rule or the CLI can give: compared by callers, so a typo is a compile error. */
export type DiagnosticCode =
  | 'anthropic-api-key'
  | 'anthropic-version'
  | 'aws-cli-binary-format'
  | 'aws-cli-body'
  | 'aws-cli-command'
  | 'aws-cli-content-type'
  | 'aws-cli-outfile'
  | 'beta-in-header'
  | 'body-file-unreadable'
  | 'body-model'
  | 'body-not-object'
  | 'body-stream'
  | 'cache-control-invalid'
  | 'content-invalid'
  | 'context-1m-unsupported'
  | 'empty-content'
  | 'extraneous-key'
  | 'field-needs-beta'
  | 'field-type'
  | 'invalid-beta'
  | 'invalid-json'
  | 'invalid-region'
  | 'max-tokens-invalid'
  | 'max-tokens-over-limit'
  | 'messages-invalid'
  | 'missing-model'
  | 'missing-region'
  | 'model-id-format'
  | 'model-not-in-region'
  | 'on-demand-not-supported'
  | 'prompt-too-long'
  | 'required-key'
  | 'sampling-not-taken'
  | 'thinking-invalid'
  | 'tool-result-unpaired'
  | 'temperature-and-top-p'
  | 'unsupported-on-bedrock';

/** One finding of a preflight rule. */
export interface Diagnostic {
  /** Stable identifier, e.g. `on-demand-not-supported`. */
  code: DiagnosticCode;
  severity: Severity;
  /** What is wrong, in Bedrock's vocabulary so it can be searched. */
  message: string;
  /** What to do about it. */
  fix: string;
  /** Where in the request (`body.anthropic_beta[1]`, `headers.x-api-key`, `model`). */
  location?: string;
  /** What Bedrock itself answers for this mistake (the emulator sends exactly this). */
  bedrock?: { status: number; exception: string; message: string };
}

/** A request to check: an Anthropic request (to a gateway) or a Bedrock request (to Bedrock). */
export interface CheckInput {
  /** `bedrock`: the body goes to InvokeModel as is. `anthropic`: an Anthropic Messages request. */
  format: 'anthropic' | 'bedrock';
  body: unknown;
  headers?: Record<string, string | string[] | undefined> | undefined;
  /** The model ID from the Bedrock path, or the Anthropic `model` (defaults to `body.model`). */
  model?: string | undefined;
  region?: string | undefined;
  scope?: Scope | undefined;
  /** The request path, to catch APIs Bedrock does not have (`/v1/files`, ...). */
  path?: string | undefined;
  catalog?: Catalog | undefined;
  /**
   * The body's estimated input tokens, when the caller has it already (the gateway shares it with its budget check).
   */
  inputTokens?: number | undefined;
  /** The catalog model the ID calls, when the caller knows it and the ID does not say (an application profile ARN). */
  knownModel?: ModelEntry | undefined;
}

/** Whether any diagnostic is an error. */
export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}
