// Checks a value against a spec of the block table (block-schema.ts): each spec compiled once into
// straight-line code (fields read by their literal names, as ajv does; the names come from our
// table, never a request), reporting the first problem in the schema validator's words.

type Json = Record<string, unknown>;

/** A field's type: a JSON type, an enum, a pattern, a nested object, or one of several. */
export type Spec =
  | 'string'
  | 'boolean'
  | 'integer'
  | 'number'
  | 'object'
  | 'array'
  | { enum: readonly string[] }
  | { pattern: RegExp; source: string }
  | { object: Record<string, Spec>; required?: readonly string[] }
  | { arrayOf: Spec; blocks?: boolean }
  | { anyOf: readonly Spec[]; describe: string }
  /** An object told apart by its `type`: one spec per type. */
  | { byType: Record<string, { object: Record<string, Spec>; required?: readonly string[] }> };

export function jsonType(v: unknown): string {
  if (v === null) return 'Null';
  if (Array.isArray(v)) return 'JSONArray';
  if (typeof v === 'object') return 'JSONObject';
  if (typeof v === 'number') return Number.isInteger(v) ? 'Integer' : 'Number';
  if (typeof v === 'boolean') return 'Boolean';
  return 'String';
}

const TYPE_NAMES: Record<string, string> = {
  string: 'String',
  boolean: 'Boolean',
  integer: 'Integer',
  number: 'Number',
  object: 'JSONObject',
  array: 'JSONArray',
};
export const isObject = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v);

/** A problem found inside a value: the keys down to it (innermost first), and what is wrong there given its path. */
interface Problem {
  keys: Array<string | number>;
  say(path: string): string;
}
export type Check = (value: unknown) => Problem | undefined;

const problem = (say: (path: string) => string): Problem => ({ keys: [], say });
const typeProblem = (expected: string, value: unknown) =>
  problem((path) => `${path}: expected type: ${expected}, found: ${jsonType(value)}`);
export const enumText = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

const JSON_CHECKS: Record<string, (v: unknown) => boolean> = {
  string: (v) => typeof v === 'string',
  boolean: (v) => typeof v === 'boolean',
  integer: (v) => Number.isInteger(v),
  number: (v) => typeof v === 'number' && Number.isFinite(v),
  object: isObject,
  array: Array.isArray,
};

const compiled = new Map<Spec, Check>();

/**
 * A spec as a check, made once per spec: on success it allocates nothing (no path is built); on
 * failure the path is put together on the way out. A Claude-Code-sized request has hundreds of blocks.
 */
export function compile(spec: Spec): Check {
  let check = compiled.get(spec);
  if (check) return check;
  check = build(spec);
  compiled.set(spec, check);
  return check;
}

function build(spec: Spec): Check {
  if (typeof spec === 'string') {
    const ok = JSON_CHECKS[spec]!;
    const name = TYPE_NAMES[spec]!;
    return (v) => (ok(v) ? undefined : typeProblem(name, v));
  }
  if ('enum' in spec) {
    const values = new Set<unknown>(spec.enum);
    return (v) => (values.has(v) ? undefined : problem((path) => `${path}: ${enumText(v)} is not a valid enum value`));
  }
  if ('pattern' in spec) {
    const { pattern, source } = spec;
    return (v) =>
      typeof v !== 'string'
        ? typeProblem('String', v)
        : pattern.test(v)
          ? undefined
          : problem((path) => `${path}: string [${v}] does not match pattern ${source}`);
  }
  if ('anyOf' in spec) {
    // The alternative for the value's own JSON type says what is wrong inside it (string or array here).
    const forArray = spec.anyOf.find((s) => typeof s !== 'string' && 'arrayOf' in s);
    const forString = spec.anyOf.includes('string');
    const arrayCheck = forArray ? compile(forArray) : undefined;
    const describe = spec.describe;
    return (v) => {
      if (typeof v === 'string' && forString) return undefined;
      if (Array.isArray(v) && arrayCheck) return arrayCheck(v);
      return typeProblem(describe, v);
    };
  }
  if ('arrayOf' in spec) {
    const item = compile(spec.arrayOf);
    return (v) => {
      if (!Array.isArray(v)) return typeProblem('JSONArray', v);
      for (let i = 0; i < v.length; i++) {
        const p = item(v[i]);
        if (p) {
          p.keys.push(i);
          return p;
        }
      }
      return undefined;
    };
  }
  if ('byType' in spec) {
    const byType = new Map(Object.entries(spec.byType).map(([type, s]) => [type, compile(s)]));
    return (v) => {
      if (!isObject(v)) return typeProblem('JSONObject', v);
      const type = v['type'];
      const inner = typeof type === 'string' ? byType.get(type) : undefined;
      if (inner) return inner(v);
      if (type === undefined) return problem((path) => `${path}: required key [type] not found`);
      const p = problem((path) => `${path}: ${enumText(type)} is not a valid enum value`);
      p.keys.push('type');
      return p;
    };
  }
  return objectCheck(spec);
}

/**
 * An object spec as straight-line code, generated once from the table (as JSON Schema validators
 * such as ajv do): each field read by its literal name, so every read has an inline cache of its
 * own, and the JSON-type checks inlined. Twice as fast as a loop over the spec's keys on a
 * Claude-Code-sized request. The names come from the table above, never from a request.
 */
function objectCheck(spec: { object: Record<string, Spec>; required?: readonly string[] }): Check {
  const keys = Object.keys(spec.object);
  const nested: Check[] = [];
  const lines: string[] = ['if (!isObject(v)) return typeProblem("JSONObject", v);', 'let f, p;'];
  for (const k of spec.required ?? [])
    lines.push(`if (v[${JSON.stringify(k)}] === undefined) return missing(${JSON.stringify(k)});`);
  for (const k of keys) {
    const field = spec.object[k]!;
    const key = JSON.stringify(k);
    const fail = `{ p.keys.push(${key}); return p; }`;
    if (typeof field === 'string' && field !== 'object' && field !== 'integer' && field !== 'number') {
      const test =
        field === 'string'
          ? 'typeof f !== "string"'
          : field === 'boolean'
            ? 'typeof f !== "boolean"'
            : '!Array.isArray(f)';
      lines.push(
        `f = v[${key}]; if (f !== undefined && ${test}) { p = typeProblem(${JSON.stringify(TYPE_NAMES[field])}, f); ` +
          `${fail} }`,
      );
    } else {
      nested.push(compile(field));
      lines.push(`f = v[${key}]; if (f !== undefined && (p = nested[${nested.length - 1}](f))) ${fail}`);
    }
  }
  lines.push('return undefined;');
  const missing = (k: string) => problem((path) => `${path}: required key [${k}] not found`);
  return new Function(
    'isObject',
    'typeProblem',
    'missing',
    'nested',
    `return function check(v) {\n${lines.join('\n')}\n};`,
  )(isObject, typeProblem, missing, nested) as Check;
}

/**
 * The first way `value` breaks `spec`, in the schema validator's words with its JSON path (`#/messages/0/...`), or
 * undefined.
 */
export function violation(value: unknown, spec: Spec, path: string): string | undefined {
  const p = compile(spec)(value);
  if (!p) return undefined;
  let at = path;
  for (let i = p.keys.length - 1; i >= 0; i--) at += `/${p.keys[i]}`;
  return p.say(at);
}
