import { InvalidArgumentError, type Command } from 'commander';
import { printTable } from './output.js';
import { REPORT_GROUPS, type ReportGroup, type ReportRow } from '../control/records.js';
import { addTargetOptions, withControl, type TargetFlags } from './control-api.js';
import { parseSince } from './control-options.js';

interface UsageFlags extends TargetFlags {
  by: ReportGroup;
  since: string;
  until?: string;
  json?: boolean;
  csv?: boolean;
}

function parseGroup(value: string): ReportGroup {
  if (!(REPORT_GROUPS as readonly string[]).includes(value))
    throw new InvalidArgumentError(`group by one of ${REPORT_GROUPS.join(', ')}`);
  return value as ReportGroup;
}

const COLUMNS: Array<keyof ReportRow> = [
  'group',
  'requests',
  'errors',
  'inputTokens',
  'outputTokens',
  'cacheReadTokens',
  'cacheWrite5mTokens',
  'cacheWrite1hTokens',
  'costUsd',
];

/**
 * A CSV cell: quoted where it must be, and a text a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, a tab or
 * a carriage return first) prefixed with `'`, so a client-chosen model name cannot be `=HYPERLINK(...)` there.
 */
export function csvCell(v: unknown): string {
  let text = v === null || v === undefined ? '' : String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function registerUsageCommand(program: Command): void {
  addTargetOptions(
    program
      .command('usage')
      .description('Spend and tokens from the ledger, grouped; the totals are exactly what the ledger rows hold.')
      .addHelpText(
        'after',
        '\nExamples:\n  npx bedrock-claude usage --by team --since 30d\n' +
          '  npx bedrock-claude usage --by model --since 2026-12-01 --csv > december.csv\n' +
          '  npx bedrock-claude usage --by client-model --since 24h --json',
      ),
  )
    .option('--by <group>', REPORT_GROUPS.join(' | '), parseGroup, 'key')
    .option('--since <when>', '7d, 24h, or a date (2026-11-01)', '30d')
    .option('--until <when>', 'a date or a duration back from now (default: now)')
    .option('--json', 'as JSON')
    .option('--csv', 'as CSV')
    .action((flags: UsageFlags) =>
      withControl(flags, async (api) => {
        const now = Date.now();
        const since = parseSince(flags.since, now);
        const until = flags.until === undefined ? now + 1 : parseSince(flags.until, now);
        const rows = await api.report(flags.by, since, until);
        if (flags.json)
          return console.log(
            JSON.stringify(
              { by: flags.by, since: new Date(since).toISOString(), until: new Date(until).toISOString(), rows },
              null,
              2,
            ),
          );
        if (flags.csv) {
          console.log([flags.by, ...COLUMNS.slice(1)].join(','));
          for (const r of rows) console.log(COLUMNS.map((c) => csvCell(r[c])).join(','));
          return;
        }
        if (!rows.length)
          return console.log(
            `no requests in the ledger between ${new Date(since).toISOString()} and ${new Date(until).toISOString()}`,
          );
        printTable(
          rows.map((r) => ({
            [flags.by]: r.group ?? '-',
            requests: r.requests,
            errors: r.errors,
            input: r.inputTokens,
            output: r.outputTokens,
            'cache read': r.cacheReadTokens,
            'cache write 5m': r.cacheWrite5mTokens,
            'cache write 1h': r.cacheWrite1hTokens,
            'cost USD': Number(r.costUsd.toFixed(6)),
          })),
        );
        const total = rows.reduce((a, r) => a + r.costUsd, 0);
        console.log(`total: ${rows.reduce((a, r) => a + r.requests, 0)} requests, $${total.toFixed(6)}`);
      }),
    );
}
