import { getDefaultCatalog, type Catalog, type ModelEntry } from './catalog.js';

// What a model identifier is, read from its form alone (an Anthropic name, a base ID, a profile ID
// or an ARN), and the catalog model it points at.

/** What kind of identifier the input was. */
export type ModelInputKind = 'name' | 'base-id' | 'profile-id' | 'arn';

export interface ParsedModelInput {
  kind: ModelInputKind;
  /** For `profile-id`: the prefix. */
  prefix?: string;
  /** For `profile-id` and `base-id`: the base Bedrock ID; for `arn`: the resource part. */
  base?: string;
  arn?: { region: string; account: string; resourceType: string; resource: string };
}

/**
 * The longest model identifier taken (Bedrock's own limit for `modelId`, 2,048 characters): a longer one is refused
 * before any lookup, so a client's garbage costs no resolver time, cache or ledger space.
 */
export const MAX_MODEL_ID_LENGTH = 2048;

/** The refusal of a model identifier over {@link MAX_MODEL_ID_LENGTH}, or undefined. */
export function modelIdTooLong(input: string): string | undefined {
  return input.length > MAX_MODEL_ID_LENGTH
    ? `The model identifier is ${input.length} characters long; Bedrock takes at most ${MAX_MODEL_ID_LENGTH}.`
    : undefined;
}

const ARN = /^arn:aws(?:-[a-z]+)*:bedrock:([a-z0-9-]*):(\d*):([a-z-]+)\/(.+)$/;
const PROFILE = /^(global|us|eu|jp|apac|au|us-gov|ca|[a-z]{2,5})\.(anthropic\..+)$/;

/** Classifies a model identifier without looking anything up. */
export function parseModelInput(input: string): ParsedModelInput {
  const arn = ARN.exec(input);
  if (arn) {
    return { kind: 'arn', arn: { region: arn[1]!, account: arn[2]!, resourceType: arn[3]!, resource: arn[4]! } };
  }
  const profile = PROFILE.exec(input);
  if (profile) return { kind: 'profile-id', prefix: profile[1]!, base: profile[2]! };
  if (input.startsWith('anthropic.')) return { kind: 'base-id', base: input };
  return { kind: 'name' };
}

/**
 * The catalog model a Bedrock identifier points at, whatever its form: a base ID, a profile ID
 * (`us.anthropic...`), an ARN of either, or an Anthropic name. `undefined` for application
 * inference profiles and unknown models.
 */
export function findModelForId(id: string, catalog: Catalog = getDefaultCatalog()): ModelEntry | undefined {
  const parsed = parseModelInput(id);
  const inner = parsed.kind === 'arn' ? parseModelInput(parsed.arn!.resource) : parsed;
  if (parsed.kind === 'arn' && inner.kind === 'name') return undefined;
  return catalog.find(inner.base ?? id);
}

/**
 * A Claude name from after the catalog (`claude-opus-6`, `anthropic.claude-sonnet-5-7`): a family the
 * catalog knows, a major and an optional minor version. Its bare Bedrock ID, or undefined.
 */
export function unlistedClaude(input: string): string | undefined {
  const m = /^(?:anthropic\.)?(claude-(?:opus|sonnet|haiku|fable|mythos)-\d{1,2}(?:-\d{1,2})?)$/.exec(
    input.toLowerCase(),
  );
  return m ? `anthropic.${m[1]}` : undefined;
}
