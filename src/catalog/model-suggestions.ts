import { invalidRequest, type BedrockClaudeError } from '../errors.js';
import { getDefaultCatalog, type Catalog, type GeoPrefix, type ModelEntry } from './catalog.js';
import { EXAMPLE_REGION, globalAllowedFrom } from './regions.js';

// What the resolver says when a name is not a model it knows ("did you mean", by edit distance),
// where a model can be called, and Bedrock's own refusal of a bare ID that needs a profile.

export function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

/** Names longer than this get no "did you mean" (the distance's cost grows with the name) and are shown cut. */
const SUGGEST_MAX = 100;

/** Up to three catalog names closest to `input`, for "did you mean"; none for a name over 100 characters. */
export function suggestModels(input: string, catalog: Catalog = getDefaultCatalog()): string[] {
  if (input.length > SUGGEST_MAX) return [];
  const needle = input.toLowerCase();
  return catalog.models
    .flatMap((m) => [m.name, m.bedrockId, ...m.aliases].map((n) => ({ n, m, d: levenshtein(needle, n.toLowerCase()) })))
    .sort((x, y) => x.d - y.d)
    .filter((x, i, all) => all.findIndex((y) => y.m === x.m) === i)
    .slice(0, 3)
    .map((x) => x.n);
}

export function unknownModel(input: string, catalog: Catalog): BedrockClaudeError {
  const suggestions = suggestModels(input, catalog);
  const shown = input.length > SUGGEST_MAX ? `${input.slice(0, SUGGEST_MAX)}…` : input;
  const didYouMean = suggestions.length ? `Did you mean ${suggestions.map((s) => `"${s}"`).join(', ')}? ` : '';
  return invalidRequest(
    `The provided model identifier is invalid: "${shown}" is not a Claude model bedrock-claude knows.`,
    `${didYouMean}Run \`bedrock-claude models\` for the list; a model newer than this release can be added with a ` +
      `models file.`,
    404,
  );
}

/** Where a model can be called, for error messages. */
export function describeAvailability(model: ModelEntry, catalog: Catalog): string {
  const ways: string[] = [];
  if (model.profiles.includes('global'))
    ways.push(`global.${model.bedrockId} (scope global, from any commercial region)`);
  for (const p of model.profiles) {
    if (p === 'global') continue;
    ways.push(
      `${p}.${model.bedrockId} (scope geo, from ${catalog.data.geos[p]?.label ?? p} regions such as ` +
        `${EXAMPLE_REGION[p]})`,
    );
  }
  if (model.onDemandInRegion)
    ways.push(`${model.bedrockId} (scope in-region${model.regions ? `, in ${model.regions.join(', ')}` : ''})`);
  return ways.join('; ');
}

/** Bedrock's own words for a bare ID of a profile-only model (note the U+2019 apostrophe). */
export function onDemandMessage(modelId: string): string {
  return (
    `Invocation of model ID ${modelId} with on-demand throughput isn\u2019t supported. Retry your request with ` +
    `the ID or ARN of an inference profile that contains this model.`
  );
}

export function onDemandNotSupported(
  modelId: string,
  model: ModelEntry,
  region: string,
  geo: GeoPrefix | undefined,
  catalog: Catalog,
): BedrockClaudeError {
  const options: string[] = [];
  if (geo && model.profiles.includes(geo))
    options.push(`"${geo}.${model.bedrockId}" keeps data in ${catalog.data.geos[geo].label} (scope geo)`);
  if (model.profiles.includes('global') && globalAllowedFrom(region, catalog))
    options.push(`"global.${model.bedrockId}" routes anywhere with no premium (scope global)`);
  options.push('or an application inference profile / provisioned throughput ARN');
  return invalidRequest(onDemandMessage(modelId), `Use an inference profile: ${options.join('; ')}.`);
}

/** No region: Bedrock is regional. */
export function missingRegion(): BedrockClaudeError {
  return invalidRequest(
    'No AWS region given. Bedrock is regional and the default region may not have the model.',
    'Pass a region explicitly (--region us-west-2, AWS_REGION, or `region` in the options).',
  );
}

/** A model with no profile for the scope asked for, with the ways that would work. */
export function notOffered(
  model: ModelEntry,
  region: string,
  scope: 'global' | 'geo' | 'in-region',
  geo: GeoPrefix | undefined,
  catalog: Catalog,
): BedrockClaudeError {
  const where =
    scope === 'geo'
      ? geo
        ? `the ${geo}. (${catalog.data.geos[geo].label}) geography`
        : `a geography bedrock-claude knows for ${region}`
      : `a global profile from ${region}`;
  const alternatives: string[] = [];
  if (scope === 'geo' && model.profiles.includes('global') && globalAllowedFrom(region, catalog)) {
    alternatives.push(
      `use scope global (global.${model.bedrockId}) from ${region} if your data may leave the geography`,
    );
  }
  const otherGeos = model.profiles.filter((p): p is GeoPrefix => p !== 'global' && p !== geo);
  if (otherGeos.length)
    alternatives.push(
      `call it from a region of ${otherGeos.map((p) => `${p}. (e.g. ${EXAMPLE_REGION[p]})`).join(', ')}`,
    );
  alternatives.push('or pick a model offered there (`bedrock-claude models --region ' + region + '`)');
  return invalidRequest(
    `${model.displayName} (${model.bedrockId}) is not offered in ${where}. It is available as: ` +
      `${describeAvailability(model, catalog)}.`,
    alternatives.join('; ') + '.',
  );
}

/** What a person should know of a model: its lifecycle, its status on the Anthropic API, unconfirmed facts. */
export function modelNotes(model: ModelEntry | undefined): string[] {
  const notes: string[] = [];
  if (!model) return notes;
  if (model.lifecycle.status !== 'active') {
    notes.push(
      `${model.displayName} is ` +
        `${model.lifecycle.status}${model.lifecycle.retiresOn ? ` (retires ${model.lifecycle.retiresOn})` : ''}; ` +
        `plan a move to a current model.`,
    );
  }
  const api = model.anthropicApi;
  if (api && api.status !== 'active' && model.lifecycle.status === 'active') {
    notes.push(
      `${model.displayName} is ${api.status} on the Anthropic API${api.retiredOn ? ` since ${api.retiredOn}` : ''} ` +
        `(the Anthropic SDKs warn about it); on Bedrock it is still active, but plan a move to a current model.`,
    );
  }
  const weaker = Object.entries(model.marks ?? {}).filter(([, mark]) => mark !== 'C');
  if (weaker.length)
    notes.push(
      `Of ${model.displayName}'s facts, ${weaker.map(([fact, mark]) => `${fact} (${MARK_WORDS[mark]})`).join(', ')} ` +
        'are not from a primary AWS or Anthropic page.',
    );
  if (model.unconfirmed)
    notes.push(
      `The catalog's Bedrock facts for ${model.displayName} are unconfirmed; override them with a models file if ` +
        `AWS differs.`,
    );
  return notes;
}

const MARK_WORDS: Record<string, string> = {
  C: 'a primary source',
  S: 'a secondary source',
  X: 'sources conflict',
  U: 'assumed, no source',
};
