import type { Command } from 'commander';
import { forTerminal, limitsCell, printTable } from './output.js';
import type { KeyRecord } from '../control/records.js';
import { createGatewayKey } from '../control/gateway-keys.js';
import { addTargetOptions, dollars, monthSpend, withControl, type TargetFlags } from './control-api.js';
import {
  addLimitOptions,
  expiryFrom,
  limitsFrom,
  modelList,
  parseOverlap,
  type LimitFlags,
} from './control-options.js';

interface KeyFlags extends LimitFlags, TargetFlags {
  user?: string;
  team?: string;
  models?: string;
  expires?: string;
  json?: boolean;
  configEntry?: boolean;
}

const date = (ms: number | undefined) =>
  ms === undefined ? '-' : new Date(ms).toISOString().slice(0, 16).replace('T', ' ');

function describe(k: KeyRecord, spent?: ReadonlyMap<string, number>): Record<string, string> {
  const limits = limitsCell(k.limits);
  return {
    id: k.id,
    name: k.name,
    user: k.user ?? '-',
    team: k.team ?? '-',
    status: k.revoked
      ? 'revoked'
      : k.expires !== undefined && k.expires !== null && k.expires <= Date.now()
        ? 'expired'
        : 'active',
    budget: k.budget ? `$${k.budget.usd}/${k.budget.period}` : '-',
    'spent (month)': dollars(spent?.get(k.name) ?? 0),
    limits: limits || '-',
    models: k.models?.join(',') ?? 'all',
    created: date(k.created),
    expires: date(k.expires ?? undefined),
  };
}

function print(records: KeyRecord[], json: boolean | undefined, spent?: ReadonlyMap<string, number>): void {
  if (json) console.log(JSON.stringify(records, null, 2));
  else if (records.length) printTable(records.map((k) => describe(k, spent)));
  else console.log('no keys yet: bedrock-claude keys create NAME');
}

/** The change the flags name, and nothing else. */
function changeFrom(flags: KeyFlags, current: KeyRecord | undefined) {
  const models = modelList(flags.models);
  return Object.assign(
    {},
    limitsFrom(flags, current),
    flags.user === undefined ? {} : { user: flags.user },
    flags.team === undefined ? {} : { team: flags.team },
    models === undefined ? {} : { models },
    flags.expires === undefined ? {} : { expires: expiryFrom(flags.expires, Date.now()) },
  );
}

export function registerKeysCommand(program: Command): void {
  const keys = program
    .command('keys')
    .description(
      'Manage the gateway keys of the control plane (stored hashed), in the data directory or through a gateway ' +
        '(--gateway URL --admin-key K).',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  npx bedrock-claude keys create alice-laptop --user alice --team platform --budget-usd 20\n' +
        '  npx bedrock-claude keys create ci --models "claude-haiku-*" --rpm 60 --expires 90d\n' +
        '  npx bedrock-claude keys rotate ci --overlap 1h\n' +
        '  npx bedrock-claude keys list --database-url postgres://gateway@db:5432/bedrock_claude',
    );
  const keyOptions = (cmd: Command) =>
    addTargetOptions(addLimitOptions(cmd))
      .option('--user <user>', 'who the key belongs to')
      .option('--team <team>', 'the team it counts against (create it with `teams create`)')
      .option('--models <list>', 'models it may call, comma separated (patterns such as claude-haiku-*; empty: all)')
      .option('--expires <when>', 'when it stops working: 30d, 12h, or a date')
      .option('--json', 'as JSON');
  keyOptions(
    keys
      .command('create')
      .description('Create a key; its secret is printed once and stored only as a hash.')
      .argument('<name>', 'a name for the key (shown in logs and reports)'),
  )
    .option('--config-entry', 'store nothing: print the lines for the config file instead')
    .action(createKeyCommand);
  addTargetOptions(
    keys.command('list').description('List the keys (never their secrets).').option('--json', 'as JSON'),
  ).action((flags: KeyFlags) =>
    withControl(flags, async (api) => print(await api.listKeys(), flags.json, await monthSpend(api, 'key'))),
  );
  addTargetOptions(
    keys.command('show').description('One key.').argument('<key>', 'id or name').option('--json', 'as JSON'),
  ).action(showKey);
  keyOptions(
    keys
      .command('update')
      .description('Change a key: only what the options name. A running gateway picks it up within 2 s.')
      .argument('<key>', 'id or name'),
  ).action((id: string, flags: KeyFlags) =>
    withControl(flags, async (api) =>
      print([await api.updateKey(id, changeFrom(flags, await api.findKey(id)))], flags.json),
    ),
  );
  addTargetOptions(
    keys
      .command('revoke')
      .description('Revoke a key: a running gateway refuses it within 2 s.')
      .argument('<key>', 'id or name')
      .option('--json', 'as JSON'),
  ).action((id: string, flags: KeyFlags) =>
    withControl(flags, async (api) => print([await api.revokeKey(id)], flags.json)),
  );
  registerLifecycle(keys);
}

/** `keys rotate` and `keys delete`. */
function registerLifecycle(keys: Command): void {
  addTargetOptions(
    keys
      .command('rotate')
      .description('A new secret for a key, printed once; the old one keeps working for the overlap, then stops.')
      .argument('<key>', 'id or name')
      .option('--overlap <duration>', 'how long the old secret still works: 0, 15m, 1h, 2d (default 1h)', parseOverlap)
      .option('--json', 'as JSON'),
  ).action(rotateKeyCommand);
  addTargetOptions(
    keys
      .command('delete')
      .description(
        "Delete a key's record (the ledger keeps its rows and name). Refused while it spent in its open budget " +
          'period (else this month): revoke it instead, or --force.',
      )
      .argument('<key>', 'id or name')
      .option('--force', 'delete even though it spent in its open period')
      .option('--json', 'as JSON'),
  ).action((id: string, flags: KeyFlags & { force?: boolean }) =>
    withControl(flags, async (api) => {
      const gone = await api.deleteKey(id, flags.force === true);
      if (flags.json) console.log(JSON.stringify(gone, null, 2));
      else console.log(`Deleted ${gone.id} ("${forTerminal(gone.name)}"); the ledger keeps its rows.`);
    }),
  );
}

async function rotateKeyCommand(id: string, flags: KeyFlags & { overlap?: number }): Promise<void> {
  const overlapMs = flags.overlap ?? 3_600_000;
  await withControl(flags, async (api) => {
    const { key, record } = await api.rotateKey(id, overlapMs);
    if (flags.json) return console.log(JSON.stringify({ id: record.id, name: record.name, key }));
    console.log(`key: ${key}`);
    const until = record.previousUntil ? new Date(record.previousUntil).toISOString() : undefined;
    console.log(
      `\nRotated ${record.id} ("${forTerminal(record.name)}"). The secret above is shown this once; ` +
        (until ? `the old one works until ${until}.` : 'the old one no longer works.'),
    );
  });
}

async function createKeyCommand(name: string, flags: KeyFlags): Promise<void> {
  if (flags.configEntry) return printConfigEntry(name, flags);
  await withControl(
    flags,
    async (api) => {
      const expires = expiryFrom(flags.expires, Date.now());
      const { key, record } = await api.createKey(
        Object.assign(
          { name },
          flags.user === undefined ? {} : { user: flags.user },
          flags.team === undefined ? {} : { team: flags.team },
          flags.models === undefined ? {} : { models: modelList(flags.models) },
          expires === undefined ? {} : { expires },
          limitsFrom(flags),
        ),
      );
      if (flags.json) return console.log(JSON.stringify({ id: record.id, name: record.name, key }));
      console.log(`key: ${key}`);
      console.log(`\nCreated ${record.id} ("${record.name}") in ${api.where}. The secret above is shown this once.`);
      console.log(
        `\n  # Claude Code and the Anthropic SDKs${flags.gateway ? '' : " (serve's default address here)"}` +
          `\n  export ANTHROPIC_BASE_URL=${gatewayUrl(flags)}\n  export ANTHROPIC_API_KEY=${key}`,
      );
    },
    true,
  );
}

function showKey(id: string, flags: KeyFlags): Promise<void> {
  return withControl(flags, async (api) => {
    const k = await api.findKey(id);
    if (!k) throw new Error(`no key "${id}" (bedrock-claude keys list shows them)`);
    if (flags.json) console.log(JSON.stringify(k, null, 2));
    else
      for (const [n, v] of Object.entries(describe(k, await monthSpend(api, 'key'))))
        console.log(`${n.padEnd(13)} ${forTerminal(String(v))}`);
  });
}

/** Where clients reach the gateway: `--gateway` when given, else serve's default address. */
const gatewayUrl = (flags: KeyFlags) => (flags.gateway ?? 'http://127.0.0.1:4000').replace(/\/+$/, '');

/**
 * A key for the config file: a name, the hash and, with `--models`, its allow-list. What a config key cannot hold
 * (a budget, limits, an owner, a team, an expiry: the store's keys have them) is refused, not dropped.
 */
function printConfigEntry(name: string, flags: KeyFlags): void {
  const storeOnly = [
    ['--budget-usd', flags.budgetUsd],
    ['--budget-period', flags.budgetPeriod],
    ['--rpm', flags.rpm],
    ['--itpm', flags.itpm],
    ['--otpm', flags.otpm],
    ['--concurrency', flags.concurrency],
    ['--user', flags.user],
    ['--team', flags.team],
    ['--expires', flags.expires],
  ].filter(([, v]) => v !== undefined);
  if (storeOnly.length)
    throw Object.assign(
      new Error(
        `a config key has a name, a hash and models only: ${storeOnly.map(([o]) => o).join(', ')} would be lost`,
      ),
      {
        fix: `Leave out --config-entry: the key is then kept in the store, with them (keys create ${name} ...).`,
      },
    );
  const { key, entry } = createGatewayKey(name);
  const models = modelList(flags.models);
  console.log(`key: ${key}`);
  console.log('\n# add to gateway.yaml under keys: (the key itself is not stored anywhere)');
  console.log(`  - name: ${JSON.stringify(entry.name)}\n    sha256: ${entry.sha256}`);
  if (models?.length) console.log(`    models: ${JSON.stringify(models)}`);
}
