import { homedir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import {
  BUDGET_PERIODS,
  LIMIT_MAX,
  parseExpiry,
  type BudgetPeriod,
  type KeyChange,
  type Limits,
} from '../control/records.js';
import { nonEmpty } from '../aws/env-region.js';

/**
 * The data directory: `--data-dir`, then the config's `dataDir`, then `BEDROCK_CLAUDE_DATA_DIR`, then
 * `~/.bedrock-claude`.
 */
export function resolveDataDir(flag: string | undefined, config?: string | undefined): string {
  return (
    nonEmpty(flag) ??
    nonEmpty(config) ??
    nonEmpty(process.env['BEDROCK_CLAUDE_DATA_DIR']) ??
    join(homedir(), '.bedrock-claude')
  );
}

/** A whole number from 1 to a billion, written in decimal digits (not `1e20`, not `0x10`). */
export function parsePositive(value: string): number {
  const n = /^\d{1,10}$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n <= 0 || n > LIMIT_MAX)
    throw new InvalidArgumentError(`expected a whole number from 1 to ${LIMIT_MAX}`);
  return n;
}

/** An amount in USD written as a decimal (`50`, `12.5`, `$5`), not `0x10` or `1e3`. */
export function parseUsd(value: string): number {
  const text = value.trim().replace(/^\$/, '');
  const n = /^\d{1,10}(?:\.\d{1,9})?$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(n) || n < 0 || n > LIMIT_MAX)
    throw new InvalidArgumentError('expected an amount in USD, such as 50 or 12.5');
  return n;
}

export function parsePeriod(value: string): BudgetPeriod {
  if (!(BUDGET_PERIODS as readonly string[]).includes(value))
    throw new InvalidArgumentError(`a period is one of ${BUDGET_PERIODS.join(', ')}`);
  return value as BudgetPeriod;
}

/** The options every key and team command shares: budget and limits. */
export function addLimitOptions(cmd: Command): Command {
  return cmd
    .option('--budget-usd <usd>', 'spend allowed per period, in USD', parseUsd)
    .option('--budget-period <period>', `${BUDGET_PERIODS.join(' | ')} (default month)`, parsePeriod)
    .option('--rpm <n>', 'requests per minute', parsePositive)
    .option('--itpm <n>', 'input tokens per minute', parsePositive)
    .option('--otpm <n>', 'output tokens per minute', parsePositive)
    .option('--concurrency <n>', 'requests at once', parsePositive);
}

export interface LimitFlags {
  budgetUsd?: number;
  budgetPeriod?: BudgetPeriod;
  rpm?: number;
  itpm?: number;
  otpm?: number;
  concurrency?: number;
}

/** The budget and limits the flags name (and only those: an update changes what it names). */
export function limitsFrom(
  flags: LimitFlags,
  current?: { budget?: { period: BudgetPeriod } | undefined },
): Pick<KeyChange, 'budget' | 'limits'> {
  const out: Pick<KeyChange, 'budget' | 'limits'> = {};
  if (flags.budgetUsd !== undefined)
    out.budget = { usd: flags.budgetUsd, period: flags.budgetPeriod ?? current?.budget?.period ?? 'month' };
  else if (flags.budgetPeriod !== undefined) throw new Error('--budget-period needs --budget-usd');
  const limits: Limits = {};
  for (const k of ['rpm', 'itpm', 'otpm', 'concurrency'] as const) if (flags[k] !== undefined) limits[k] = flags[k];
  if (Object.keys(limits).length) out.limits = limits;
  return out;
}

export function expiryFrom(text: string | undefined, now: number): number | undefined {
  return text === undefined ? undefined : parseExpiry(text, now);
}

/** `7d`, `24h`, or a date (`2026-11-01`) as ms since the epoch, counted back from `now` for a duration. */
export function parseSince(text: string, now: number): number {
  const m = /^(\d+)\s*([dhm])$/.exec(text.trim());
  if (m) return now - Number(m[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2] as 'd' | 'h' | 'm'];
  const at = Date.parse(text);
  if (Number.isNaN(at)) throw new Error(`"${text}" is not a duration (7d, 24h, 90m) or a date (2026-11-01)`);
  return at;
}

/** `--models a,b`; an empty list means all models, as the help says (null), never none. */
export function modelList(flag: string | undefined): string[] | null | undefined {
  if (flag === undefined) return undefined;
  const list = flag
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  return list.length ? list : null;
}

/** `--groups a,b`: the identity provider's groups (an empty list: none). */
export function groupList(flag: string | undefined): string[] | undefined {
  if (flag === undefined) return undefined;
  return flag
    .split(',')
    .map((g) => g.trim())
    .filter(Boolean);
}

/** `--overlap`: `0`, `90s`, `15m`, `1h`, `2d` as milliseconds, at most 30 days (commander's argument parser). */
export function parseOverlap(value: string): number {
  const m = /^(\d{1,6})\s*([smhd]?)$/.exec(value.trim());
  const unit = { '': 1000, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m?.[2] ?? '') as '' | 's'];
  const ms = m ? Number(m[1]) * unit : NaN;
  if (!Number.isFinite(ms) || ms > 30 * 86_400_000)
    throw new InvalidArgumentError('a duration up to 30d: 0, 90s, 15m, 1h, 2d');
  return ms;
}
