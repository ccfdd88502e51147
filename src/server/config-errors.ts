import type { z } from 'zod';
import { levenshtein } from '../catalog/model-suggestions.js';
import { issuePath } from '../catalog/models-file.js';

/**
 * The config file's errors as an operator reads them: the field, what was wrong and what was expected, with an
 * example; a union's branch that came closest instead of "Invalid input"; and values that came from the environment
 * (`port: ${PORT}`) typed as the schema says, since the environment holds only strings.
 */

type Issue = z.core.$ZodIssue;
type Path = ReadonlyArray<PropertyKey>;

/** An example value for a field, by its name. */
const EXAMPLES: Record<string, string> = {
  host: '127.0.0.1',
  port: '4000',
  region: 'us-west-2',
  scope: 'global',
  policy: 'drop',
  modelId: 'global.anthropic.claude-sonnet-4-6',
  backend: 'invoke',
  url: 'redis://127.0.0.1:6379',
  store: 'postgres://gateway@127.0.0.1:5432/bedrock_claude',
  failMode: 'failOpen',
  retainDays: '30',
  bodyBytes: '25000000',
  adminKey: '${BEDROCK_CLAUDE_ADMIN_KEY}',
  sha256: 'the 64 hex digits `keys create NAME --config-entry` prints',
  timeZone: 'Europe/Berlin',
  publicUrl: 'https://gateway.example.com',
  bedrockEndpoint: 'https://bedrock-runtime.us-west-2.amazonaws.com',
};

/** How close a union's branch came: its deepest issue (the type matched, a field inside did not), then fewest. */
const closeness = (branch: readonly Issue[]) => Math.max(...branch.map((i) => i.path.length)) * 100 - branch.length;

/** The issues to tell: a union's closest branch in its place, each path from the file's root. */
function flatten(issues: readonly Issue[], base: Path = []): Array<{ path: Path; issue: Issue }> {
  return issues.flatMap((issue) => {
    const path = [...base, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length) {
      const best = issue.errors.reduce((a, b) => (closeness(b) > closeness(a) ? b : a));
      return flatten(best, path);
    }
    return [{ path, issue }];
  });
}

/** An example for a field: its own, else one of the type expected. */
function exampleFor(name: string, issue: Issue): string {
  if (EXAMPLES[name]) return `, e.g. ${name}: ${EXAMPLES[name]}`;
  if (issue.code !== 'invalid_type') return '';
  const typed: Record<string, string> = { number: '10', boolean: 'true', array: '[a, b]', object: '{ key: value }' };
  return typed[issue.expected] ? `, e.g. ${name || 'it'}: ${typed[issue.expected]}` : '';
}

/** The setting a misspelt one most likely meant (one or two letters apart), from the settings there are. */
function closest(key: string, known: readonly string[]): string | undefined {
  const best = known
    .map((k) => ({ k, d: levenshtein(key.toLowerCase(), k.toLowerCase()) }))
    .sort((a, b) => a.d - b.d)[0];
  return best && best.d <= 2 ? best.k : undefined;
}

function describe({ path, issue }: { path: Path; issue: Issue }, known: readonly string[]): string {
  const name = String([...path].reverse().find((k) => typeof k === 'string') ?? '');
  let what = issue.message;
  if (issue.code === 'invalid_type')
    what = /received undefined/.test(issue.message)
      ? `missing: expected ${issue.expected}`
      : issue.message.replace(/^Invalid input: /, '');
  else if (issue.code === 'unrecognized_keys') {
    const meant = path.length ? [] : issue.keys.map((k) => closest(k, known)).filter(Boolean);
    what = `not a setting here: ${issue.keys.join(', ')}${meant.length ? ` (did you mean ${meant.join(', ')}?)` : ''}`;
  }
  return `${issuePath(path)}: ${what}${exampleFor(name, issue)}`;
}

/**
 * Every issue: the field, what was wrong, what was expected, an example; a misspelt top-level setting with the one it
 * most likely meant (`known`: the settings there are).
 */
export function describeConfigIssues(issues: readonly Issue[], known: readonly string[] = []): string {
  return flatten(issues)
    .map((i) => describe(i, known))
    .join('; ');
}

/**
 * Types the values that came whole from the environment (`${PORT}`, a string) as the schema expected them (a number,
 * a boolean), where the text is one; answers whether any changed (then the config is validated again).
 */
export function typeFromEnvironment(raw: unknown, issues: readonly Issue[], fromEnv: ReadonlySet<string>): boolean {
  let changed = false;
  for (const { path, issue } of flatten(issues)) {
    if (issue.code !== 'invalid_type' || !fromEnv.has(JSON.stringify(path))) continue;
    const parent = path.slice(0, -1).reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown>)?.[k], raw);
    const key = path[path.length - 1]!;
    const value = (parent as Record<PropertyKey, unknown> | undefined)?.[key];
    if (typeof value !== 'string') continue;
    const typed =
      issue.expected === 'number' && /^-?\d+(\.\d+)?$/.test(value.trim())
        ? Number(value)
        : issue.expected === 'boolean' && /^(true|false)$/.test(value.trim())
          ? value.trim() === 'true'
          : undefined;
    if (typed === undefined) continue;
    (parent as Record<PropertyKey, unknown>)[key] = typed;
    changed = true;
  }
  return changed;
}
