import type { Command } from 'commander';
import { getDefaultCatalog, PROFILE_PREFIXES, type ModelEntry } from '../catalog/catalog.js';
import { isRegionName, regionToGeo } from '../catalog/regions.js';
import { resolveModel } from '../catalog/resolve-model.js';
import { BedrockClaudeError } from '../errors.js';
import { forTerminal, table } from './output.js';
import type { PriceDifference } from '../catalog/price-list.js';

const k = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : `${Math.round(n / 1000)}K`);

export function registerModelsCommand(program: Command): void {
  const models = program
    .command('models')
    .description(
      'The model catalog: names, Bedrock IDs, profiles, context, output limit, prices, lifecycle; with --region, ' +
        'what is callable there and how.',
    )
    .option('-r, --region <region>', 'show what is callable from this region')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  bedrock-claude models\n  bedrock-claude models --region ap-northeast-1\n  bedrock-claude ' +
        "models --json | jq '.[].bedrockId'",
    )
    .action(listModels);

  models
    .command('sync')
    .description(
      "Asks the account's Bedrock control plane in each region which Claude models it offers, and writes a models " +
        "file: profiles, on-demand regions, lifecycle and access as found; the package's prices kept for models it " +
        'knows, new ones marked to be priced.',
    )
    .option('--regions <list>', 'comma-separated regions (default: AWS_REGION, else us-west-2)')
    .option('--out <file>', 'write the models file here (JSON; default: standard output)')
    .option('--endpoint <url>', 'control plane base URL (an emulator, a VPC endpoint)')
    .option('--profile <name>', 'AWS profile')
    .option('--prices', "also read the AWS Price List's offers for the regions: per-region prices into the file")
    .option('--price-list <url>', 'Price List base URL (default: the public one, or --endpoint when given)')
    .option('--check', 'with --prices: exit 1 when the built-in prices differ from the Price List (each is named)')
    .addHelpText(
      'after',
      '\nExamples:\n  bedrock-claude models sync --regions us-west-2,eu-west-1 --out models.json\n' +
        '  bedrock-claude models sync --prices --regions us-east-1 --check --out models.json\n  bedrock-claude ' +
        'serve --config gateway.yaml   # with  models: { models: ... }  or --models models.json for the emulator',
    )
    .action(syncCommand);
}

type Catalog = ReturnType<typeof getDefaultCatalog>;
type Callable = Record<'global' | 'geo', string | null>;

/** The model ID each scope resolves to from the region, or null where it is not offered. */
function callableFrom(name: string, region: string, catalog: Catalog): Callable {
  const how: Callable = { global: null, geo: null };
  for (const scope of ['global', 'geo'] as const) {
    try {
      const r = resolveModel(name, { region, scope, catalog });
      how[scope] = r.scope === scope ? r.modelId : null;
    } catch (err) {
      if (!(err instanceof BedrockClaudeError)) throw err;
    }
  }
  return how;
}

function listModels(flags: { region?: string; json?: boolean }): void {
  const catalog = getDefaultCatalog();
  const callable = catalog.models.map((m) => (flags.region ? callableFrom(m.name, flags.region, catalog) : undefined));
  if (flags.json) {
    const rows = catalog.models.map((m, i) => ({
      name: m.name,
      displayName: m.displayName,
      bedrockId: m.bedrockId,
      profiles: m.profiles,
      contextWindow: m.contextWindow,
      context1m: m.context1m,
      maxOutputTokens: m.maxOutputTokens,
      pricing: m.pricing,
      lifecycle: m.lifecycle,
      ...(m.unconfirmed ? { unconfirmed: true } : {}),
      ...(m.marks ? { marks: m.marks, sources: m.sources ?? [] } : {}),
      ...(callable[i] ? { callable: callable[i] } : {}),
    }));
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  const headers = [
    'name',
    'bedrock id',
    ...PROFILE_PREFIXES,
    'context',
    '1M',
    'max out',
    '$ in/out per M',
    'lifecycle',
    'facts',
  ];
  if (flags.region) headers.push(`from ${flags.region} (${regionToGeo(flags.region, catalog) ?? 'no geo'})`);
  // The models whose facts are confirmed first (in the catalog's order, newest first), the unconfirmed (*) after.
  const order = catalog.models.map((_, i) => i).sort((a, b) => unconfirmedLast(catalog.models, a, b));
  const rows = order.map((i) => {
    const m = catalog.models[i]!;
    const row = [
      m.name + (m.unconfirmed ? '*' : ''),
      m.bedrockId,
      ...PROFILE_PREFIXES.map((p) => (m.profiles.includes(p) ? 'Y' : '-')),
      k(m.contextWindow),
      m.context1m ? 'Y' : '-',
      k(m.maxOutputTokens),
      `${m.pricing.input}/${m.pricing.output}`,
      m.lifecycle.status,
      factsText(m),
    ];
    const how = callable[i];
    if (how) row.push(howText(how));
    return row;
  });
  console.log(table(headers, rows));
  console.log(
    '\n* Bedrock facts unconfirmed; override with a models file. Prices are for global profiles; geo and ' +
      'in-region cost ~10% more. facts: C a primary AWS or Anthropic page, S a secondary source, X sources ' +
      'conflict, U assumed (no source); the facts not C are named (--json has the sources).',
  );
}

const unconfirmedLast = (models: readonly ModelEntry[], a: number, b: number) =>
  Number(!!models[a]!.unconfirmed) - Number(!!models[b]!.unconfirmed) || a - b;

/** The confidence of a model's facts: `C` when a primary source says all of them, else the others by name. */
export function factsText(m: ModelEntry): string {
  if (!m.marks) return '';
  const weaker = Object.entries(m.marks).filter(([, mark]) => mark !== 'C');
  return weaker.length ? weaker.map(([fact, mark]) => `${fact} ${mark}`).join(', ') : 'C';
}

function howText(how: Callable): string {
  if (how.global) return `global.` + (how.geo ? ` or ${how.geo.split('.')[0]}. (+10%)` : '');
  return how.geo ? `${how.geo.split('.')[0]}. only (+10%)` : 'not offered';
}

interface SyncFlags {
  regions?: string;
  out?: string;
  endpoint?: string;
  profile?: string;
  prices?: boolean;
  priceList?: string;
  check?: boolean;
}

/** Each difference between the package's prices and the Price List, one line each; whether there were any. */
function reportDifferences(differences: PriceDifference[] | undefined): boolean {
  if (!differences) return false;
  if (!differences.length) {
    console.error('prices: the built-in prices match the AWS Price List');
    return false;
  }
  console.error(`prices: ${differences.length} differ from the AWS Price List (USD per million tokens):`);
  for (const d of differences)
    console.error(
      `  ${forTerminal(d.model)} ${d.region} ${d.routing} ${d.kind}: built-in ${d.builtIn ?? 'none'}, AWS ${d.synced}`,
    );
  return true;
}

async function syncCommand(flags: SyncFlags) {
  const { syncModels } = await import('./models-sync.js');
  const { resolveBedrockAuth } = await import('../aws/credentials.js');
  const regions = (flags.regions ?? process.env['AWS_REGION'] ?? 'us-west-2')
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const bad = regions.find((r) => !isRegionName(r));
  if (bad)
    throw new BedrockClaudeError(`"${bad}" is not an AWS region name.`, {
      status: 400,
      type: 'invalid_request_error',
      fix: 'Use regions such as us-west-2,eu-west-1.',
    });
  const file = await syncModels({
    regions,
    auth: resolveBedrockAuth(flags.profile ? { profile: flags.profile } : {}),
    catalog: getDefaultCatalog(),
    endpoint: flags.endpoint,
    today: new Date().toISOString().slice(0, 10),
    prices: flags.prices ? { endpoint: flags.priceList ?? flags.endpoint } : undefined,
  });
  const differ = reportDifferences(file.differences);
  if (differ && flags.check) process.exitCode = 1;
  const text = JSON.stringify({ models: file.models }, null, 2) + '\n';
  if (!flags.out) return void process.stdout.write(text);
  const { writeFileSync } = await import('node:fs');
  writeFileSync(flags.out, text);
  const fresh = file.models.filter((m) => m.unconfirmed && !m.pricing?.input);
  console.error(
    `wrote ${file.models.length} models from ${regions.join(', ')} to ` +
      `${flags.out}${fresh.length ? `; new, to be priced: ${fresh.map((m) => m.name).join(', ')}` : ''}`,
  );
}
