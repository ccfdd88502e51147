import type { Command } from 'commander';
import type { TeamRecord } from '../control/records.js';
import { addLimitOptions, limitsFrom, resolveDataDir, type LimitFlags } from './control-options.js';

interface TeamFlags extends LimitFlags {
  dataDir?: string;
  json?: boolean;
}

function describe(t: TeamRecord): Record<string, string> {
  const limits = Object.entries(t.limits).filter(([, v]) => v !== undefined).map(([n, v]) => `${n} ${v}`).join(', ');
  return { name: t.name, budget: t.budget ? `$${t.budget.usd}/${t.budget.period}` : '-', limits: limits || '-', created: new Date(t.created).toISOString().slice(0, 10) };
}

async function withStore<T>(flags: TeamFlags, run: (store: Awaited<ReturnType<typeof import('../control/sqlite-store.js')['openControlStore']>>) => T): Promise<T> {
  const { openControlStore } = await import('../control/sqlite-store.js');
  const store = openControlStore(resolveDataDir(flags.dataDir));
  try {
    return run(store);
  } finally {
    store.close();
  }
}

function print(teams: TeamRecord[], json: boolean | undefined): void {
  if (json) console.log(JSON.stringify(teams.length === 1 ? teams[0] : teams, null, 2));
  else if (teams.length) console.table(teams.map(describe));
  else console.log('no teams yet: bedrock-claude teams create NAME');
}

export function registerTeamsCommand(program: Command): void {
  const teams = program.command('teams').description('Manage teams: a budget and limits shared by their keys (the tighter of key and team applies).');
  const dataDir = '--data-dir <dir>';
  const dataDirHelp = 'the data directory (default BEDROCK_CLAUDE_DATA_DIR, then ~/.bedrock-claude)';
  addLimitOptions(teams.command('create').argument('<name>').option(dataDir, dataDirHelp).option('--json', 'as JSON')).action((name: string, flags: TeamFlags) =>
    withStore(flags, (store) => print([store.createTeam(Object.assign({ name }, limitsFrom(flags)), Date.now())], flags.json)),
  );
  teams
    .command('list')
    .option(dataDir, dataDirHelp)
    .option('--json', 'as JSON')
    .action((flags: TeamFlags) => withStore(flags, (store) => print(store.listTeams(), flags.json)));
  teams
    .command('show')
    .argument('<name>')
    .option(dataDir, dataDirHelp)
    .option('--json', 'as JSON')
    .action((name: string, flags: TeamFlags) =>
      withStore(flags, (store) => {
        const t = store.findTeam(name);
        if (!t) throw new Error(`no team "${name}" (bedrock-claude teams list shows them)`);
        print([t], flags.json);
      }),
    );
  addLimitOptions(teams.command('update').argument('<name>').option(dataDir, dataDirHelp).option('--json', 'as JSON')).action((name: string, flags: TeamFlags) =>
    withStore(flags, (store) => print([store.updateTeam(name, limitsFrom(flags, store.findTeam(name)))], flags.json)),
  );
}
