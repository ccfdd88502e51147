import defaultData from './models.json' with { type: 'json' };
import { checkModelsFile } from './models-file.js';

/** A geography's profile prefix, or `global`. */
export type ProfilePrefix = 'global' | 'us' | 'eu' | 'jp' | 'apac' | 'au';
export const PROFILE_PREFIXES: readonly ProfilePrefix[] = ['global', 'us', 'eu', 'jp', 'apac', 'au'];
export type GeoPrefix = Exclude<ProfilePrefix, 'global'>;

/** USD per million tokens of each kind (global profile prices). */
export interface TokenPrices {
  input: number;
  output: number;
  /** A 5-minute cache write (1.25x input). */
  cacheWrite: number;
  /** A 1-hour cache write (2x input when absent). */
  cacheWrite1h?: number;
  cacheRead: number;
}

/** One region's prices from the AWS Price List, by routing: `global` profiles, or `regional` (geo and in-region). */
export interface RegionPrices {
  global?: Partial<TokenPrices>;
  regional?: Partial<TokenPrices>;
  /** Other service tiers' prices (`priority`, `flex`), by routing. */
  tiers?: Record<string, { global?: Partial<TokenPrices>; regional?: Partial<TokenPrices> }>;
}

export interface ModelPricing extends TokenPrices {
  /**
   * The prices of a call whose input (with cache reads and writes) is over `threshold` tokens (Sonnet 4 and 4.5 over
   * 200K).
   */
  longContext?: Partial<TokenPrices> & { threshold: number; input: number; output: number };
}

export interface ModelLifecycle {
  status: 'active' | 'deprecated' | 'retired';
  deprecatedOn?: string;
  retiresOn?: string;
  /** The earliest end of life Bedrock's model card promises ("EOL no sooner than"). */
  eolNotBefore?: string;
}

/**
 * How sure the catalog is of a fact (as in bedrock-facts.md section 11): `C` a primary AWS or
 * Anthropic page says it, `S` a secondary source, `X` sources conflict, `U` no source (assumed, and
 * `sources` says from what).
 */
export type FactMark = 'C' | 'S' | 'X' | 'U';
export type FactName =
  | 'id'
  | 'profiles'
  | 'contextWindow'
  | 'maxOutputTokens'
  | 'pricing'
  | 'releasedOn'
  | 'lifecycle'
  | 'rules'
  | 'backends';

/**
 * Where a model is served: `invoke` (bedrock-runtime InvokeModel and Converse, the legacy integration), `messages`
 * (bedrock-runtime's Messages API at `/anthropic`), `mantle` (bedrock-mantle's Messages API) or `platform` (Claude
 * Platform on AWS, Anthropic-operated).
 */
export type Backend = 'invoke' | 'messages' | 'mantle' | 'platform';
export const BACKENDS: readonly Backend[] = ['invoke', 'messages', 'mantle', 'platform'];

/** One endpoint kind as the catalog describes it (`endpoints` in models.json). */
export interface EndpointInfo {
  label: string;
  /** The host, `{region}` filled in. */
  url: string;
  /** Where the Messages paths start (`/anthropic`); empty for InvokeModel, whose paths are its own. */
  basePath: string;
  /** The SigV4 service name. */
  service: string;
  /** The ID form it takes: profile IDs or bare IDs, bare IDs only, profile IDs only, or Anthropic names. */
  ids: 'profile-or-base' | 'profile' | 'bare' | 'anthropic';
  /** The API versions it takes, the one it gets when the client's is not among them first. */
  versions: string[];
  marks?: Partial<Record<'service' | 'ids' | 'versions', FactMark>>;
  notes?: string;
}

/** What an Anthropic API version asks of a request (2026-10-21), as far as sources say. */
export interface ApiVersionRules {
  /** The legacy (ARN-versioned) models refuse the version on InvokeModel. */
  legacyModels?: 'refused';
  /** Top-level fields the version refuses. */
  refusedFields?: string[];
  /** `document` blocks in assistant turns are refused. */
  assistantDocuments?: boolean;
  /** `citations` on user text blocks are refused. */
  userTextCitations?: boolean;
  /** SDK majors that send it by default: package → first version. */
  defaultFrom?: Record<string, string>;
  marks?: Partial<
    Record<'legacyModels' | 'refusedFields' | 'assistantDocuments' | 'userTextCitations' | 'defaultFrom', FactMark>
  >;
  sources?: string[];
}

/** Sampling a model takes (Fable): `temperature` only these values or unset, `top_p` at least `topPMin`, no `top_k`. */
export interface SamplingRule {
  temperature?: number[];
  topPMin?: number;
  topK?: boolean;
}

/** One Claude model as the catalog knows it. */
export interface ModelEntry {
  /** The Anthropic API name without date, e.g. `claude-sonnet-4-5`. */
  name: string;
  displayName: string;
  /** Bedrock base model ID, e.g. `anthropic.claude-sonnet-4-5-20250929-v1:0`. */
  bedrockId: string;
  /** Its bare ID on the Messages-API endpoints when not `bedrockId` (Haiku 4.5: `anthropic.claude-haiku-4-5`). */
  mantleId?: string;
  /** Other Anthropic names for it (dated names, `-latest`, ...). */
  aliases: string[];
  /** Which system-defined inference profiles exist for it. */
  profiles: ProfilePrefix[];
  /** Whether the bare base ID can be invoked on demand in a region. */
  onDemandInRegion: boolean;
  /** Regions where the bare ID is hosted on demand, when `onDemandInRegion`. */
  regions?: string[];
  contextWindow: number;
  /** Whether the `context-1m-2025-08-07` beta lifts the window to 1,000,000 tokens. */
  context1m: boolean;
  maxOutputTokens: number;
  /** The shortest prompt prefix the prompt cache keeps, in tokens (default 1,024). */
  minCacheTokens?: number;
  pricing: ModelPricing;
  /** Prices per region as the AWS Price List has them (`models sync --prices`); they win over `pricing` there. */
  regionPrices?: Record<string, RegionPrices>;
  /** Whether `temperature` and `top_p` may be sent together. */
  temperatureWithTopP: boolean;
  thinking: boolean;
  /** Takes only `thinking: {"type": "adaptive"}`: `enabled` with `budget_tokens` is a 400 (Opus 4.7). */
  adaptiveThinkingOnly?: boolean;
  /** Thinking is always on (Opus 5.5). */
  alwaysThinking?: boolean;
  /** The sampling parameters it takes, when it restricts them. */
  sampling?: SamplingRule;
  /** The model's lifecycle on Bedrock. */
  lifecycle: ModelLifecycle;
  /**
   * Its lifecycle on the Anthropic API, when that differs from Bedrock's (a model retired there may still be served on
   * Bedrock).
   */
  anthropicApi?: { status: 'active' | 'deprecated' | 'retired'; retiredOn?: string };
  releasedOn?: string;
  /**
   * The endpoints that serve it, in the order the gateway prefers them (absent: `invoke` only). The first that takes
   * the resolved ID form is called: a profile ID on `messages` or `invoke`, a bare in-region ID on `invoke` (when
   * offered on demand) or `mantle`.
   */
  backends?: Backend[];
  /** Older models files: `mantle` for a model served only through the native Messages path. */
  backend?: 'invoke' | 'mantle';
  /** The account's access per region, as `models sync` found it (`AUTHORIZED`, `NOT_AUTHORIZED`). */
  access?: Record<string, string>;
  /** True for entries whose Bedrock facts are not confirmed yet. */
  unconfirmed?: boolean;
  /** Added by a models file without an input and output price: a budget cannot count it (calls under one refused). */
  unpriced?: boolean;
  /** How sure each fact is (facts of December 2026 on); absent: from before, when the catalog was checked whole. */
  marks?: Partial<Record<FactName, FactMark>>;
  /** Where the facts come from. */
  sources?: string[];
  notes?: string;
}

export interface GeoEntry {
  label: string;
  /** Region names or `prefix-*` patterns, matched in catalog order (first geo wins). */
  regions: string[];
}

export interface CatalogData {
  anthropicVersion: string;
  acceptedAnthropicVersions: string[];
  /** Anthropic API versions (dates) that official SDKs copy into the body. */
  anthropicApiVersions: string[];
  /** What each Anthropic API version asks (2026-10-21's rules). */
  apiVersions?: Record<string, ApiVersionRules>;
  /** The endpoint kinds: host, path, SigV4 service, ID form, versions. */
  endpoints: Record<Backend, EndpointInfo>;
  regionalPremium: number;
  geos: Record<GeoPrefix, GeoEntry>;
  globalExcludedRegions: string[];
  betas: {
    accepted: string[];
    rejected: string[];
    /** Betas whose sources disagree (beta → why): dropped on InvokeModel, never refused. */
    conflicting?: Record<string, string>;
    renamed: Record<string, string>;
    context1m: string;
  };
  body: {
    allowedKeys: string[];
    requiredKeys: string[];
    fieldsRequiringBeta: Record<string, string>;
    unsupportedFields: string[];
    unsupportedToolFields: string[];
    unsupportedToolTypes: string[];
  };
  /**
   * Family aliases (`opus`, `sonnet`, `haiku`): model names, newest first. An alias resolves to the
   * first that is active, confirmed and offered where the call goes.
   */
  familyAliases?: Record<string, string[]>;
  models: ModelEntry[];
}

/** A partial catalog a user supplies to add or override models and lists. */
export type CatalogOverrides = Partial<Omit<CatalogData, 'models' | 'betas' | 'body' | 'endpoints'>> & {
  models?: Array<Partial<ModelEntry> & { name: string }>;
  endpoints?: Partial<Record<Backend, EndpointInfo>>;
  betas?: Partial<CatalogData['betas']>;
  body?: Partial<CatalogData['body']>;
};

/** A loaded catalog with its look-up indexes. Build one with {@link createCatalog}. */
export interface Catalog {
  readonly data: CatalogData;
  readonly models: readonly ModelEntry[];
  /** Finds a model by Anthropic name, alias or Bedrock base ID (case-insensitive, `.` or `-` in versions). */
  find(nameOrId: string): ModelEntry | undefined;
  /** Every name a person could type, for "did you mean". */
  readonly names: readonly string[];
}

/** Normalises a model name for look-up: lower case, `opus-4.6` → `opus-4-6`, no `anthropic/` or `claude-` noise. */
export function normalizeModelName(name: string): string {
  let n = name.trim().toLowerCase();
  n = n.replace(/^anthropic\//, '');
  n = n.replace(/(\d)\.(\d)/g, '$1-$2');
  n = n.replace(/_/g, '-');
  return n;
}

function keysFor(entry: ModelEntry): string[] {
  const keys = [entry.name, ...entry.aliases, entry.bedrockId, ...(entry.mantleId ? [entry.mantleId] : [])];
  const out = new Set<string>();
  for (const k of keys) {
    const n = normalizeModelName(k);
    out.add(n);
    if (n.startsWith('claude-')) out.add(n.slice('claude-'.length));
  }
  // `claude-3-7-sonnet` is also typed `sonnet-3-7`; `claude-opus-4-6` also `claude-opus-4-6-latest`.
  out.add(`${normalizeModelName(entry.name)}-latest`);
  return [...out];
}

function mergeModels(base: ModelEntry[], extra: CatalogOverrides['models']): ModelEntry[] {
  const byName = new Map(base.map((m) => [m.name, m]));
  for (const m of extra ?? []) {
    const existing = byName.get(m.name);
    if (existing) {
      byName.set(m.name, {
        ...existing,
        ...m,
        pricing: { ...existing.pricing, ...m.pricing },
        lifecycle: { ...existing.lifecycle, ...m.lifecycle },
      } as ModelEntry);
    } else {
      if (!m.bedrockId) throw new TypeError(`models file: new model "${m.name}" needs at least "bedrockId"`);
      const fallback: ModelEntry = {
        name: m.name,
        displayName: m.name,
        bedrockId: m.bedrockId,
        aliases: [],
        profiles: ['global', 'us', 'eu', 'jp', 'apac', 'au'],
        onDemandInRegion: false,
        contextWindow: 200_000,
        context1m: false,
        maxOutputTokens: 64_000,
        pricing: { input: 0, output: 0, cacheWrite: 0, cacheRead: 0 },
        temperatureWithTopP: false,
        thinking: true,
        lifecycle: { status: 'active' },
      };
      const unpriced = m.pricing?.input === undefined || m.pricing.output === undefined;
      byName.set(m.name, {
        ...fallback,
        ...m,
        pricing: { ...fallback.pricing, ...m.pricing },
        lifecycle: { ...fallback.lifecycle, ...m.lifecycle },
        ...(unpriced ? { unpriced: true } : {}),
      } as ModelEntry);
    }
  }
  return [...byName.values()];
}

/**
 * Builds a catalog from the built-in data plus optional user overrides (a models file).
 *
 * @example
 * ```ts
 * const catalog = createCatalog({ models: [{ name: 'claude-opus-4-9', bedrockId: 'anthropic.claude-opus-4-9' }] });
 * catalog.find('opus-4.9')?.bedrockId; // 'anthropic.claude-opus-4-9'
 * ```
 */
export function createCatalog(overrides?: CatalogOverrides, base: CatalogData = defaultData as CatalogData): Catalog {
  checkModelsFile(overrides);
  const data: CatalogData = {
    ...base,
    ...overrides,
    betas: { ...base.betas, ...overrides?.betas },
    body: { ...base.body, ...overrides?.body },
    geos: { ...base.geos, ...overrides?.geos },
    familyAliases: { ...base.familyAliases, ...overrides?.familyAliases },
    endpoints: { ...base.endpoints, ...overrides?.endpoints },
    apiVersions: { ...base.apiVersions, ...overrides?.apiVersions },
    models: mergeModels(base.models, overrides?.models),
  };
  const index = new Map<string, ModelEntry>();
  for (const entry of data.models) {
    for (const key of keysFor(entry)) if (!index.has(key)) index.set(key, entry);
  }
  const names = [...new Set(data.models.flatMap((m) => [m.name, ...m.aliases, m.bedrockId]))];
  return {
    data,
    models: data.models,
    names,
    find(nameOrId: string) {
      const n = normalizeModelName(nameOrId);
      return index.get(n) ?? index.get(n.replace(/^claude-/, ''));
    },
  };
}

let defaultCatalog: Catalog | undefined;
/** The built-in catalog (no user overrides). */
export function getDefaultCatalog(): Catalog {
  defaultCatalog ??= createCatalog();
  return defaultCatalog;
}
