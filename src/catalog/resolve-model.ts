import { BedrockClaudeError, invalidRequest } from '../errors.js';
import {
  getDefaultCatalog,
  PROFILE_PREFIXES,
  type Backend,
  type Catalog,
  type GeoPrefix,
  type ModelEntry,
  type ProfilePrefix,
} from './catalog.js';
import { backendFor, idFor } from './backends.js';
import { explain, profileFor, type Scope } from './profile-choice.js';
import { judgeReach, refuseUnknownReach, type ApplicationProfile } from './application-profiles.js';
import { EXAMPLE_REGION, globalAllowedFrom, isRegionName, regionToGeo } from './regions.js';
import {
  modelIdTooLong,
  parseModelInput,
  unlistedClaude,
  type ModelInputKind,
  type ParsedModelInput,
} from './model-input.js';
import {
  modelNotes,
  describeAvailability,
  missingRegion,
  onDemandMessage,
  onDemandNotSupported,
  suggestModels,
  unknownModel,
} from './model-suggestions.js';

export { describeAvailability, onDemandMessage, suggestModels };
export { findModelForId, parseModelInput, type ModelInputKind, type ParsedModelInput } from './model-input.js';

export { SCOPES, type Scope } from './profile-choice.js';

export interface ResolveOptions {
  region: string | undefined;
  scope?: Scope | undefined;
  catalog?: Catalog | undefined;
  /** What is known of the application inference profile `input` names (its model and reach), if it is one. */
  applicationProfile?: ApplicationProfile | undefined;
}

/** The answer of {@link resolveModel}. */
export interface ResolvedModel {
  /** The model ID (or ARN) to put in the Bedrock path. */
  modelId: string;
  input: string;
  kind: ModelInputKind;
  /** The catalog entry, when the model is known. */
  model: ModelEntry | undefined;
  /** The profile prefix used, or `undefined` for a bare ID or an ARN. */
  prefix: ProfilePrefix | undefined;
  region: string;
  /** The scope in effect (after a global → geo fallback, `geo`). */
  scope: Scope;
  /** Whether the ~10% regional premium applies (geo or in-region). */
  regionalPremium: boolean;
  /** A sentence a person can read: what will be called and why. */
  explanation: string;
  /** Things worth knowing (fallbacks, deprecation, unconfirmed data). */
  notes: string[];
  /** A well-formed Claude name the catalog does not know yet: sent to the Messages-API endpoint by its bare ID. */
  unlisted?: boolean;
  /** The endpoint this ID is called on (the model's first backend that takes its form). */
  backend: Backend;
}

/**
 * Resolves any model identifier to the Bedrock model ID to call from `region` within `scope`.
 * Input may be an Anthropic name (`claude-sonnet-4-5`, `sonnet-4.5`, `claude-sonnet-4-5-20250929`),
 * a bare Bedrock ID, a profile ID (`us.anthropic...`) or an ARN.
 *
 * @throws {BedrockClaudeError} unknown model (404, with "did you mean"), missing region, model not
 * offered in the region or geography (400, listing what would work).
 * @example
 * ```ts
 * resolveModel('claude-sonnet-4-5', { region: 'eu-west-1', scope: 'geo' }).modelId;
 * // 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0'
 * ```
 */
export function resolveModel(input: string, options: ResolveOptions): ResolvedModel {
  const tooLong = modelIdTooLong(input);
  if (tooLong) throw invalidRequest(tooLong, 'Send a model name, ID, profile ID or ARN.'); // never cached
  const catalog = options.catalog ?? getDefaultCatalog();
  if (options.applicationProfile) return resolveUncached(input, options, catalog);
  // The answer depends only on (input, region, scope, catalog): remember recent ones, errors included,
  // since a gateway resolves the same few names on every request.
  let memo = MEMO.get(catalog);
  if (!memo) MEMO.set(catalog, (memo = new Map()));
  const key = `${input}\u0000${options.region ?? ''}\u0000${options.scope ?? ''}`;
  const hit = memo.get(key);
  if (hit) {
    if (hit instanceof BedrockClaudeError) throw hit;
    return { ...hit, notes: [...hit.notes] };
  }
  let result: ResolvedModel | BedrockClaudeError;
  try {
    result = resolveUncached(input, options, catalog);
  } catch (err) {
    if (!(err instanceof BedrockClaudeError)) throw err;
    result = err;
  }
  if (memo.size >= MEMO_LIMIT) memo.delete(memo.keys().next().value!);
  memo.set(key, result);
  if (result instanceof BedrockClaudeError) throw result;
  return { ...result, notes: [...result.notes] };
}

const MEMO = new WeakMap<Catalog, Map<string, ResolvedModel | BedrockClaudeError>>();
const MEMO_LIMIT = 512;

type Unfinished = Omit<ResolvedModel, 'explanation' | 'regionalPremium' | 'input' | 'region' | 'backend'>;

function backendOf(r: Unfinished, region: string): Backend {
  if (r.unlisted) return 'mantle';
  if (r.kind === 'arn') return 'invoke';
  if (r.prefix) return backendFor(r.model, { kind: 'profile', prefix: r.prefix });
  const m = r.model;
  return backendFor(m, { kind: 'bare', onDemand: !!m?.onDemandInRegion && (!m.regions || m.regions.includes(region)) });
}

/** What every resolution shares: the input and region, the premium, the model's notes and the sentence. */
interface Resolution {
  trimmed: string;
  region: string;
  scope: Scope;
  catalog: Catalog;
  applicationProfile?: ApplicationProfile | undefined;
}

function finish(r: Unfinished, at: Resolution): ResolvedModel {
  const backend = backendOf(r, at.region);
  const partial = {
    ...r,
    modelId: r.kind === 'arn' || r.prefix ? r.modelId : idFor(backend, r.model, r.modelId),
    input: at.trimmed,
    region: at.region,
    backend,
    regionalPremium: r.prefix !== 'global' && r.kind !== 'arn',
    notes: [...r.notes, ...modelNotes(r.model)],
  };
  return { ...partial, explanation: explain(partial, at.catalog) };
}

function resolveUncached(input: string, options: ResolveOptions, catalog: Catalog): ResolvedModel {
  const trimmed = input.trim();
  if (!trimmed)
    throw invalidRequest(
      'No model given.',
      'Set `model`, e.g. "claude-sonnet-4-5" or "global.anthropic.claude-opus-4-6-v1".',
    );
  if (!options.region) throw missingRegion();
  const region = options.region;
  if (!isRegionName(region))
    throw invalidRequest(
      `"${region}" is not an AWS region name.`,
      'Use a region such as us-west-2, us-east-1, eu-west-1 or ap-northeast-1.',
    );
  const at: Resolution = {
    trimmed,
    region,
    scope: options.scope ?? 'global',
    catalog,
    applicationProfile: options.applicationProfile,
  };
  const parsed = parseModelInput(trimmed);
  if (parsed.kind === 'arn') return resolveArn(parsed.arn!, at);
  if (parsed.kind === 'profile-id') return resolveProfileId(parsed.prefix!, parsed.base!, at);
  return resolveName(parsed.kind, at);
}

function resolveArn(arn: NonNullable<ParsedModelInput['arn']>, at: Resolution): ResolvedModel {
  const { trimmed, region, catalog } = at;
  if (arn.region && arn.region !== region) {
    throw invalidRequest(
      `The ARN ${trimmed} is in ${arn.region}, but the call goes to ${region}.`,
      `Call bedrock-runtime in ${arn.region} (--region ${arn.region}).`,
    );
  }
  const inner = parseModelInput(arn.resource);
  const model = inner.kind === 'name' ? undefined : catalog.find(inner.base ?? arn.resource);
  const prefix =
    inner.kind === 'profile-id' && (PROFILE_PREFIXES as readonly string[]).includes(inner.prefix!)
      ? (inner.prefix as ProfilePrefix)
      : undefined;
  if (arn.resourceType === 'foundation-model' && model && !model.onDemandInRegion) {
    throw onDemandNotSupported(trimmed, model, region, regionToGeo(region, catalog), catalog);
  }
  // Residency holds for every spelling: a system profile's ARN is judged as its profile ID is.
  if (inner.kind === 'profile-id') {
    if (!model || !prefix || !model.profiles.includes(prefix)) throw unknownModel(trimmed, catalog);
    if (prefix === 'global') checkGlobalProfile(model, at);
    else checkGeoProfile(model, prefix, at);
  } else if (arn.resourceType === 'application-inference-profile') {
    if (at.applicationProfile) return resolveApplicationProfile(at.applicationProfile, at);
    refuseUnknownReach(at);
  }
  const scope = prefix === 'global' ? 'global' : prefix ? 'geo' : at.scope;
  return finish({ modelId: trimmed, kind: 'arn', model, prefix, scope, notes: [] }, at);
}

/** An application inference profile whose model and reach are known: judged and priced by its reach. */
function resolveApplicationProfile(profile: ApplicationProfile, at: Resolution): ResolvedModel {
  const model = at.catalog.find(profile.modelId);
  const { prefix, scope } = judgeReach(profile, model, at);
  const notes = [
    `An application inference profile of ${model?.displayName ?? profile.modelId} ` +
      `(known from ${profile.from === 'config' ? 'the config' : 'Bedrock'}).`,
  ];
  return finish({ modelId: at.trimmed, kind: 'arn', model, prefix, scope, notes }, at);
}

/**
 * A well-formed Claude name from the catalog's future (also spelt as a profile ID): bedrock-mantle in the region, by
 * its bare ID. A known model's name in a wrong ID (`anthropic.claude-opus-4-6` for `...-v1`) is a typo, not a new one.
 */
function resolveUnlisted(name: string, kind: ModelInputKind, at: Resolution): ResolvedModel {
  const unlisted = unlistedClaude(name);
  if (!unlisted || at.catalog.find(unlisted.slice(10))) throw unknownModel(at.trimmed, at.catalog);
  const note =
    `${at.trimmed} is not in the catalog yet: sent as ${unlisted} to bedrock-mantle in ${at.region}, ` + 'unpriced.';
  return finish(
    { modelId: unlisted, kind, model: undefined, scope: 'in-region', notes: [note], unlisted: true, prefix: undefined },
    at,
  );
}

function resolveProfileId(prefix: string, base: string, at: Resolution): ResolvedModel {
  const { trimmed, catalog } = at;
  const model = catalog.find(base);
  if (!model && (PROFILE_PREFIXES as readonly string[]).includes(prefix))
    return resolveUnlisted(base, 'profile-id', at);
  if (!model || normalize(model.bedrockId) !== normalize(base)) throw unknownModel(trimmed, catalog);
  if (!(PROFILE_PREFIXES as readonly string[]).includes(prefix) || !model.profiles.includes(prefix as ProfilePrefix)) {
    throw invalidRequest(
      `The provided model identifier is invalid: there is no "${prefix}." inference profile for ` +
        `${model.displayName}.`,
      `Available: ${describeAvailability(model, catalog)}.`,
    );
  }
  if (prefix === 'global') checkGlobalProfile(model, at);
  else checkGeoProfile(model, prefix as GeoPrefix, at);
  return finish(
    {
      modelId: trimmed,
      kind: 'profile-id',
      model,
      prefix: prefix as ProfilePrefix,
      scope: prefix === 'global' ? 'global' : 'geo',
      notes: [],
    },
    at,
  );
}

function checkGlobalProfile(model: ModelEntry, { trimmed, region, scope, catalog }: Resolution): void {
  const geo = regionToGeo(region, catalog);
  if (!globalAllowedFrom(region, catalog))
    throw invalidRequest(
      `Global inference profiles cannot be called from ${region}.`,
      'Use a commercial region such as us-west-2.',
    );
  if (scope !== 'global') {
    throw invalidRequest(
      `${trimmed} is a global profile, which may route outside ${geo ?? region}; the scope "${scope}" ` +
        `does not allow it.`,
      geo && model.profiles.includes(geo)
        ? `Use "${geo}.${model.bedrockId}".`
        : 'Use scope global, or a model with a profile in this geography.',
    );
  }
}

function checkGeoProfile(model: ModelEntry, prefix: GeoPrefix, { trimmed, region, scope, catalog }: Resolution) {
  const geo = regionToGeo(region, catalog);
  if (geo !== prefix) {
    throw invalidRequest(
      `The ${prefix}. inference profile can only be called from ${catalog.data.geos[prefix].label} ` +
        `regions, and ${region} is ${geo ? `in ${catalog.data.geos[geo].label}` : 'outside every geography'}.`,
      geo && model.profiles.includes(geo)
        ? `Use "${geo}.${model.bedrockId}" from ${region}, or call from ${EXAMPLE_REGION[prefix]}.`
        : `Call from a ${prefix} region such as ${EXAMPLE_REGION[prefix]} (--region ${EXAMPLE_REGION[prefix]}).`,
    );
  }
  if (scope === 'in-region') {
    throw invalidRequest(
      `${trimmed} is a geo profile that may route to other regions of ${catalog.data.geos[geo].label}; scope ` +
        `in-region does not allow it.`,
      'Use scope geo, or a bare model ID that is offered on demand in this region.',
    );
  }
}

function resolveName(kind: ModelInputKind, at: Resolution): ResolvedModel {
  const { trimmed, region, catalog } = at;
  const model = catalog.find(trimmed);
  if (!model) {
    const alias = familyAlias(trimmed, catalog);
    if (alias) return finish(alias.resolveIn(region, at.scope), at);
    return resolveUnlisted(trimmed, kind, at);
  }
  const chosen = profileFor(model, region, at.scope, catalog);
  const notes = [...chosen.notes];
  if (kind === 'base-id' && chosen.prefix) {
    notes.unshift(`The bare ID ${trimmed} cannot be invoked on demand; using the ${chosen.prefix}. inference profile.`);
  }
  return finish(
    {
      modelId: chosen.prefix ? `${chosen.prefix}.${model.bedrockId}` : model.bedrockId,
      kind,
      model,
      prefix: chosen.prefix,
      scope: chosen.scope,
      notes,
    },
    at,
  );
}

/**
 * A family alias (`opus`, `sonnet`, `haiku`, with `claude-` before or `-latest` after): the first
 * model of the catalog's list for it that is active, confirmed and offered in the region and scope.
 */
function familyAlias(input: string, catalog: Catalog) {
  const family = input
    .toLowerCase()
    .replace(/^claude-/, '')
    .replace(/-latest$/, '');
  // Own entries only: "constructor" or "__proto__" is an unknown name, not an inherited property.
  const aliases = catalog.data.familyAliases;
  const names = aliases && Object.hasOwn(aliases, family) ? aliases[family] : undefined;
  if (!Array.isArray(names)) return undefined;
  return {
    resolveIn(region: string, scope: Scope): Unfinished {
      for (const name of names) {
        const model = catalog.find(name);
        if (!model || model.lifecycle.status !== 'active' || model.unconfirmed) continue;
        let chosen: ReturnType<typeof profileFor>;
        try {
          chosen = profileFor(model, region, scope, catalog);
        } catch {
          continue;
        }
        const note =
          `"${input}" is the ${family} family alias: today it means ${model.displayName} (${model.name}), ` +
          `the newest active ${family} model offered in ${region} with scope ${scope}.`;
        return {
          modelId: chosen.prefix ? `${chosen.prefix}.${model.bedrockId}` : model.bedrockId,
          kind: 'name',
          model,
          prefix: chosen.prefix,
          scope: chosen.scope,
          notes: [note, ...chosen.notes],
        };
      }
      throw invalidRequest(
        `No ${family} model is offered in ${region} with scope ${scope}.`,
        `Name a model (bedrock-claude models lists them), or use scope global.`,
      );
    },
  };
}

const normalize = (id: string): string => id.toLowerCase();
