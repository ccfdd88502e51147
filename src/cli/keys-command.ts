import type { Command } from 'commander';
import type { KeyRecord } from '../control/records.js';
import { createGatewayKey } from '../server/gateway-keys.js';
import { addLimitOptions, expiryFrom, limitsFrom, resolveDataDir, type LimitFlags } from './control-options.js';

interface KeyFlags extends LimitFlags {
  dataDir?: string;
  user?: string;
  team?: string;
  models?: string;
  expires?: string;
  json?: boolean;
  configEntry?: boolean;
}

async function open(flags: { dataDir?: string }) {
  const { openControlStore } = await import('../control/sqlite-store.js');
  return openControlStore(resolveDataDir(flags.dataDir));
}

const date = (ms: number | undefined) => (ms === undefined ? '-' : new Date(ms).toISOString().slice(0, 16).replace('T', ' '));
const models = (flag: string | undefined) => (flag === undefined ? undefined : flag.split(',').map((m) => m.trim()).filter(Boolean));

function describe(k: KeyRecord): Record<string, string> {
  const limits = Object.entries(k.limits).filter(([, v]) => v !== undefined).map(([n, v]) => `${n} ${v}`).join(', ');
  return { id: k.id, name: k.name, user: k.user ?? '-', team: k.team ?? '-', status: k.revoked ? 'revoked' : k.expires !== undefined && k.expires <= Date.now() ? 'expired' : 'active', budget: k.budget ? `$${k.budget.usd}/${k.budget.period}` : '-', limits: limits || '-', models: k.models?.join(',') ?? 'all', created: date(k.created), expires: date(k.expires) };
}

function print(records: KeyRecord[], json: boolean | undefined): void {
  if (json) console.log(JSON.stringify(records, null, 2));
  else if (records.length) console.table(records.map(describe));
  else console.log('no keys yet: bedrock-claude keys create NAME');
}

export function registerKeysCommand(program: Command): void {
  const keys = program.command('keys').description('Manage the gateway keys of the control plane (stored hashed in the data directory).');
  const dataDir = '--data-dir <dir>';
  const dataDirHelp = 'the data directory (default BEDROCK_CLAUDE_DATA_DIR, then ~/.bedrock-claude)';
  addLimitOptions(
    keys
      .command('create')
      .description('Create a key; its secret is printed once and stored only as a hash.')
      .argument('<name>', 'a name for the key (shown in logs and reports)')
      .option(dataDir, dataDirHelp)
      .option('--user <user>', 'who the key belongs to')
      .option('--team <team>', 'the team it counts against (create it with `teams create`)')
      .option('--models <list>', 'models it may call, comma separated (patterns such as claude-haiku-*)')
      .option('--expires <when>', 'when it stops working: 30d, 12h, or a date')
      .option('--json', 'print {"id", "name", "key"}')
      .option('--config-entry', 'store nothing: print the lines for the config file instead'),
  ).action(async (name: string, flags: KeyFlags) => {
    if (flags.configEntry) {
      const { key, entry } = createGatewayKey(name);
      console.log(`key: ${key}`);
      console.log('\n# add to gateway.yaml under keys: (the key itself is not stored anywhere)');
      console.log(`  - name: ${entry.name}\n    sha256: ${entry.sha256}`);
      return;
    }
    const store = await open(flags);
    try {
      const now = Date.now();
      const expires = expiryFrom(flags.expires, now);
      const { key, record } = store.createKey(Object.assign({ name, user: flags.user, team: flags.team, models: models(flags.models) }, expires === undefined ? {} : { expires }, limitsFrom(flags)), now);
      if (flags.json) return console.log(JSON.stringify({ id: record.id, name: record.name, key }));
      console.log(`key: ${key}`);
      console.log(`\nCreated ${record.id} ("${record.name}") in ${store.dataDir}. The secret above is shown this once.`);
      console.log(`\n  # Claude Code and the Anthropic SDKs\n  export ANTHROPIC_BASE_URL=http://127.0.0.1:4000\n  export ANTHROPIC_API_KEY=${key}`);
    } finally {
      store.close();
    }
  });
  keys
    .command('list')
    .description('List the keys (never their secrets).')
    .option(dataDir, dataDirHelp)
    .option('--json', 'as JSON')
    .action(async (flags: KeyFlags) => {
      const store = await open(flags);
      try {
        print(store.listKeys(), flags.json);
      } finally {
        store.close();
      }
    });
  keys
    .command('show')
    .argument('<key>', 'id or name')
    .option(dataDir, dataDirHelp)
    .option('--json', 'as JSON')
    .action(async (id: string, flags: KeyFlags) => {
      const store = await open(flags);
      try {
        const k = store.findKey(id);
        if (!k) throw new Error(`no key "${id}" (bedrock-claude keys list shows them)`);
        if (flags.json) console.log(JSON.stringify(k, null, 2));
        else for (const [n, v] of Object.entries(describe(k))) console.log(`${n.padEnd(8)} ${v}`);
      } finally {
        store.close();
      }
    });
  addLimitOptions(
    keys
      .command('update')
      .description('Change a key: only what the options name. A running gateway picks it up within 2 s.')
      .argument('<key>', 'id or name')
      .option(dataDir, dataDirHelp)
      .option('--user <user>', 'who the key belongs to')
      .option('--team <team>', 'the team it counts against')
      .option('--models <list>', 'models it may call (empty: all)')
      .option('--expires <when>', 'when it stops working')
      .option('--json', 'as JSON'),
  ).action(async (id: string, flags: KeyFlags) => {
    const store = await open(flags);
    try {
      const current = store.findKey(id);
      const change = Object.assign({}, limitsFrom(flags, current), flags.user === undefined ? {} : { user: flags.user }, flags.team === undefined ? {} : { team: flags.team }, flags.models === undefined ? {} : { models: models(flags.models)!.length ? models(flags.models) : null }, flags.expires === undefined ? {} : { expires: expiryFrom(flags.expires, Date.now()) });
      print([store.updateKey(id, change)], flags.json);
    } finally {
      store.close();
    }
  });
  keys
    .command('revoke')
    .description('Revoke a key: a running gateway refuses it within 2 s.')
    .argument('<key>', 'id or name')
    .option(dataDir, dataDirHelp)
    .option('--json', 'as JSON')
    .action(async (id: string, flags: KeyFlags) => {
      const store = await open(flags);
      try {
        print([store.revokeKey(id, Date.now())], flags.json);
      } finally {
        store.close();
      }
    });
}
