import type { Command } from 'commander';
import type { AuditEntry, PersonRecord } from '../control/records.js';
import { addTargetOptions, withControl, type TargetFlags } from './control-api.js';
import { addLimitOptions, limitsFrom, modelList, parsePositive, type LimitFlags } from './control-options.js';
import { limitsCell, printTable } from './output.js';

interface PeopleFlags extends LimitFlags, TargetFlags {
  json?: boolean;
  models?: string;
}

const date = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');

function describe(p: PersonRecord): Record<string, string> {
  const limits = limitsCell(p.limits);
  return {
    email: p.email,
    subject: p.subject,
    groups: p.groups.join(',') || '-',
    budget: p.budget ? `$${p.budget.usd}/${p.budget.period}` : 'default',
    limits: limits || 'default',
    models: p.models?.join(',') ?? 'default',
    'last seen': date(p.lastSeen),
  };
}

function print(people: PersonRecord[], json: boolean | undefined): void {
  if (json) console.log(JSON.stringify(people.length === 1 ? people[0] : people, null, 2));
  else if (people.length) printTable(people.map(describe));
  else console.log('nobody has signed in yet (see "Sign in with your identity provider" in the README)');
}

/** A record in the audit log's column: what changed, field by field (`budget: $5/month -> $10/month`). */
function changed(before: unknown, after: unknown): string {
  const b = (before ?? {}) as Record<string, unknown>;
  const a = (after ?? {}) as Record<string, unknown>;
  if (before === null || before === undefined) return 'created';
  if (after === null || after === undefined) return 'deleted';
  const out: string[] = [];
  for (const k of new Set([...Object.keys(b), ...Object.keys(a)])) {
    const was = JSON.stringify(b[k] ?? null);
    const now = JSON.stringify(a[k] ?? null);
    if (was !== now) out.push(`${k}: ${was} -> ${now}`);
  }
  return out.join('; ').slice(0, 200) || '-';
}

function printAudit(entries: AuditEntry[], json: boolean | undefined): void {
  if (json) return console.log(JSON.stringify(entries, null, 2));
  if (!entries.length) return console.log('no changes recorded yet');
  printTable(
    entries.map((e) => ({
      when: date(e.time),
      who: e.actor,
      via: e.via,
      from: e.address ?? '-',
      action: e.action,
      target: e.target,
      change: changed(e.before, e.after),
    })),
  );
}

/** `people`: who signed in through the identity provider, and what an admin set for one of them. */
export function registerPeopleCommand(program: Command): void {
  const people = program
    .command('people')
    .description(
      'People who signed in through the identity provider: list them, and give one their own budget, limits or ' +
        'models (the config\'s "identity.people" otherwise).',
    );
  addTargetOptions(people.command('list').description('everyone who signed in').option('--json', 'as JSON')).action(
    (flags: PeopleFlags) => withControl(flags, async (api) => print(await api.listPeople(), flags.json)),
  );
  addTargetOptions(
    people.command('show').description('one person').argument('<email-or-subject>').option('--json', 'as JSON'),
  ).action((id: string, flags: PeopleFlags) =>
    withControl(flags, async (api) => {
      const p = await api.findPerson(id);
      if (!p) throw new Error(`no person "${id}": people appear once they have signed in (bedrock-claude people list)`);
      print([p], flags.json);
    }),
  );
  addTargetOptions(addLimitOptions(people.command('update').argument('<email-or-subject>')))
    .description("set a person's own budget, limits or models")
    .option('--models <list>', 'models they may call, comma separated (patterns; empty: the default)')
    .option('--json', 'as JSON')
    .addHelpText('after', '\nExample:\n  bedrock-claude people update alice@example.com --budget-usd 100 --rpm 60')
    .action((id: string, flags: PeopleFlags) =>
      withControl(flags, async (api) => {
        const models = modelList(flags.models);
        const change = Object.assign(limitsFrom(flags), models === undefined ? {} : { models });
        print([await api.updatePerson(id, change)], flags.json);
      }),
    );
}

/** `audit`: every change to keys, teams and people, through the admin API, the CLI or the dashboard. */
export function registerAuditCommand(program: Command): void {
  addTargetOptions(
    program
      .command('audit')
      .description(
        'The audit log: who changed which key, team or person, through what, from where, before and after ' +
          '(append-only).',
      )
      .option('--limit <n>', 'how many of the newest entries (default 50)', parsePositive)
      .option('--json', 'as JSON (with the records before and after)'),
  ).action((flags: TargetFlags & { limit?: number; json?: boolean }) =>
    withControl(flags, async (api) => printAudit(await api.auditLog(Math.min(flags.limit ?? 50, 1000)), flags.json)),
  );
}
