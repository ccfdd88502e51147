import type { Command } from 'commander';
import { printTable } from './output.js';
import type { TeamRecord } from '../control/records.js';
import { addTargetOptions, withControl, type TargetFlags } from './control-api.js';
import { addLimitOptions, limitsFrom, type LimitFlags } from './control-options.js';

interface TeamFlags extends LimitFlags, TargetFlags {
  json?: boolean;
}

function describe(t: TeamRecord): Record<string, string> {
  const limits = Object.entries(t.limits)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([n, v]) => `${n} ${v}`)
    .join(', ');
  return {
    name: t.name,
    budget: t.budget ? `$${t.budget.usd}/${t.budget.period}` : '-',
    limits: limits || '-',
    created: new Date(t.created).toISOString().slice(0, 10),
  };
}

function print(teams: TeamRecord[], json: boolean | undefined): void {
  if (json) console.log(JSON.stringify(teams.length === 1 ? teams[0] : teams, null, 2));
  else if (teams.length) printTable(teams.map(describe));
  else console.log('no teams yet: bedrock-claude teams create NAME');
}

export function registerTeamsCommand(program: Command): void {
  const teams = program
    .command('teams')
    .description('Manage teams: a budget and limits shared by their keys (the tighter of key and team applies).');
  const options = (cmd: Command) => addTargetOptions(addLimitOptions(cmd)).option('--json', 'as JSON');
  options(teams.command('create').argument('<name>')).action((name: string, flags: TeamFlags) =>
    withControl(flags, async (api) =>
      print([await api.createTeam(Object.assign({ name }, limitsFrom(flags)))], flags.json),
    ),
  );
  addTargetOptions(teams.command('list').option('--json', 'as JSON')).action((flags: TeamFlags) =>
    withControl(flags, async (api) => print(await api.listTeams(), flags.json)),
  );
  addTargetOptions(teams.command('show').argument('<name>').option('--json', 'as JSON')).action(
    (name: string, flags: TeamFlags) =>
      withControl(flags, async (api) => {
        const t = await api.findTeam(name);
        if (!t) throw new Error(`no team "${name}" (bedrock-claude teams list shows them)`);
        print([t], flags.json);
      }),
  );
  options(teams.command('update').argument('<name>')).action((name: string, flags: TeamFlags) =>
    withControl(flags, async (api) =>
      print([await api.updateTeam(name, limitsFrom(flags, await api.findTeam(name)))], flags.json),
    ),
  );
}
