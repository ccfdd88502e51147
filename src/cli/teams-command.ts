import type { Command } from 'commander';
import { limitsCell, printTable } from './output.js';
import type { TeamRecord } from '../control/records.js';
import { addTargetOptions, dollars, monthSpend, withControl, type TargetFlags } from './control-api.js';
import { addLimitOptions, groupList, limitsFrom, modelList, type LimitFlags } from './control-options.js';

interface TeamFlags extends LimitFlags, TargetFlags {
  json?: boolean;
  groups?: string;
  models?: string;
}

/** What the flags set: budget and limits, the IdP groups, the allow-list (only what they name). */
function changeFrom(flags: TeamFlags, current?: TeamRecord) {
  const groups = groupList(flags.groups);
  const models = modelList(flags.models);
  return Object.assign(
    limitsFrom(flags, current),
    groups === undefined ? {} : { groups },
    models === undefined ? {} : { models },
  );
}

function describe(t: TeamRecord, spent?: ReadonlyMap<string, number>): Record<string, string> {
  const limits = limitsCell(t.limits);
  return {
    name: t.name,
    budget: t.budget ? `$${t.budget.usd}/${t.budget.period}` : '-',
    'spent (month)': dollars(spent?.get(t.name) ?? 0),
    limits: limits || '-',
    groups: t.groups.join(',') || '-',
    models: t.models?.join(',') ?? 'all',
    created: new Date(t.created).toISOString().slice(0, 10),
  };
}

function print(teams: TeamRecord[], json: boolean | undefined, spent?: ReadonlyMap<string, number>): void {
  if (json) console.log(JSON.stringify(teams.length === 1 ? teams[0] : teams, null, 2));
  else if (teams.length) printTable(teams.map((t) => describe(t, spent)));
  else console.log('no teams yet: bedrock-claude teams create NAME');
}

export function registerTeamsCommand(program: Command): void {
  const teams = program
    .command('teams')
    .description(
      'Manage teams: a budget, limits and an allow-list shared by their keys and by the signed-in members of their ' +
        'IdP groups (the tightest applies).',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  npx bedrock-claude teams create platform --budget-usd 100 --rpm 600\n' +
        '  npx bedrock-claude teams update platform --groups eng-platform --models "claude-sonnet-*"\n' +
        '  npx bedrock-claude teams list --gateway http://127.0.0.1:4000 --admin-key $BEDROCK_CLAUDE_ADMIN_KEY',
    );
  const options = (cmd: Command) =>
    addTargetOptions(addLimitOptions(cmd))
      .option('--groups <list>', "the identity provider's groups whose members belong to it, comma separated")
      .option('--models <list>', 'models its members may call, comma separated (patterns; empty: all)')
      .option('--json', 'as JSON');
  options(
    teams
      .command('create')
      .description('Create a team: a budget, limits, IdP groups, an allow-list.')
      .argument('<name>'),
  ).action((name: string, flags: TeamFlags) =>
    withControl(
      flags,
      async (api) => print([await api.createTeam(Object.assign({ name }, changeFrom(flags)))], flags.json),
      true,
    ),
  );
  addTargetOptions(
    teams.command('list').description('List the teams, with what each spent this month.').option('--json', 'as JSON'),
  ).action((flags: TeamFlags) =>
    withControl(flags, async (api) => print(await api.listTeams(), flags.json, await monthSpend(api, 'team'))),
  );
  addTargetOptions(
    teams.command('show').description('One team.').argument('<name>').option('--json', 'as JSON'),
  ).action((name: string, flags: TeamFlags) =>
    withControl(flags, async (api) => {
      const t = await api.findTeam(name);
      if (!t) throw new Error(`no team "${name}" (bedrock-claude teams list shows them)`);
      print([t], flags.json, await monthSpend(api, 'team'));
    }),
  );
  registerTeamDelete(teams);
  options(teams.command('update').description('Change a team: only what the options name.').argument('<name>')).action(
    (name: string, flags: TeamFlags) =>
      withControl(flags, async (api) =>
        print([await api.updateTeam(name, changeFrom(flags, await api.findTeam(name)))], flags.json),
      ),
  );
}

/** `teams delete`. */
function registerTeamDelete(teams: Command): void {
  addTargetOptions(
    teams
      .command('delete')
      .description(
        'Delete a team no active key belongs to (the ledger keeps its name). Refused while it spent in its open ' +
          'budget period (else this month), unless --force.',
      )
      .argument('<name>')
      .option('--force', 'delete even though it spent in its open period')
      .option('--json', 'as JSON'),
  ).action((name: string, flags: TeamFlags & { force?: boolean }) =>
    withControl(flags, async (api) => {
      const gone = await api.deleteTeam(name, flags.force === true);
      if (flags.json) console.log(JSON.stringify(gone, null, 2));
      else console.log(`Deleted the team "${gone.name}"; the ledger keeps its rows.`);
    }),
  );
}
