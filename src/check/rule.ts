import type { Catalog, ModelEntry } from '../catalog/catalog.js';
import type { ResolvedModel } from '../catalog/resolve-model.js';
import type { BedrockClaudeError } from '../errors.js';
import type { CheckInput, Diagnostic, DiagnosticCode } from './diagnostic.js';

/** What every rule sees: the input plus what was worked out once for all rules. */
export interface RuleContext {
  input: CheckInput;
  catalog: Catalog;
  body: Record<string, unknown> | undefined;
  modelInput: string | undefined;
  model: ModelEntry | undefined;
  resolved: ResolvedModel | undefined;
  resolveError: BedrockClaudeError | undefined;
  headerBetas: string[];
  bodyBetas: string[];
}

export interface Rule {
  code: DiagnosticCode;
  /** The common mistake it catches, for docs and `check --list`. */
  description: string;
  run(ctx: RuleContext): Diagnostic[];
}

export const malformed = (detail: string): string =>
  `Malformed input request: ${detail}, please reformat your input and try again.`;
export const modelSaid = (detail: string): string => `The model returned the following errors: ${detail}`;
export const validation = (message: string, status = 400) => ({ status, exception: 'ValidationException', message });
