import type { Diagnostic } from './diagnostic.js';
import { malformed, validation, type Rule } from './rule.js';

/**
 * What Bedrock's schema says of each content block, tool and tool choice, as data: a spec per
 * block type (its roles, required fields and each field's type), read by one small interpreter that
 * reports the first problem of each block in the schema validator's words, with its JSON path
 * (`Malformed input request: #/messages/0/content/1/source/media_type: image/bmp is not a valid enum value`).
 * Cross-field rules (pairing, thinking, cache points) are in `cross-field-rules.ts`.
 */

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

const CACHE_CONTROL: Spec = {
  object: { type: { enum: ['ephemeral'] }, ttl: { enum: ['5m', '1h'] } },
  required: ['type'],
};
const CITATIONS: Spec = { object: { enabled: 'boolean' } };
export const IMAGE_MEDIA_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'] as const;
const IMAGE_SOURCE: Spec = {
  byType: {
    base64: {
      object: { type: 'string', media_type: { enum: IMAGE_MEDIA_TYPES }, data: 'string' },
      required: ['media_type', 'data'],
    },
    url: { object: { type: 'string', url: 'string' }, required: ['url'] },
  },
};
const TEXT_BLOCK = {
  object: { type: 'string', text: 'string', cache_control: CACHE_CONTROL, citations: 'array' },
  required: ['text'],
} as const;
const DOCUMENT_SOURCE: Spec = {
  byType: {
    base64: {
      object: { type: 'string', media_type: { enum: ['application/pdf'] }, data: 'string' },
      required: ['media_type', 'data'],
    },
    text: {
      object: { type: 'string', media_type: { enum: ['text/plain'] }, data: 'string' },
      required: ['media_type', 'data'],
    },
    content: {
      object: {
        type: 'string',
        content: {
          anyOf: [
            'string',
            {
              arrayOf: {
                byType: {
                  text: TEXT_BLOCK,
                  image: { object: { type: 'string', source: IMAGE_SOURCE }, required: ['source'] },
                },
              },
            },
          ],
          describe: 'String or JSONArray',
        },
      },
      required: ['content'],
    },
    url: { object: { type: 'string', url: 'string' }, required: ['url'] },
  },
};
const IMAGE_BLOCK = {
  object: { type: 'string', source: IMAGE_SOURCE, cache_control: CACHE_CONTROL },
  required: ['source'],
} as const;
const DOCUMENT_BLOCK = {
  object: {
    type: 'string',
    source: DOCUMENT_SOURCE,
    title: 'string',
    context: 'string',
    citations: CITATIONS,
    cache_control: CACHE_CONTROL,
  },
  required: ['source'],
} as const;
const SEARCH_RESULT_BLOCK = {
  object: {
    type: 'string',
    source: 'string',
    title: 'string',
    content: { arrayOf: { byType: { text: TEXT_BLOCK } } },
    citations: CITATIONS,
    cache_control: CACHE_CONTROL,
  },
  required: ['source', 'title', 'content'],
} as const;
const TOOL_RESULT_CONTENT: Spec = {
  anyOf: [
    'string',
    {
      arrayOf: {
        byType: { text: TEXT_BLOCK, image: IMAGE_BLOCK, document: DOCUMENT_BLOCK, search_result: SEARCH_RESULT_BLOCK },
      },
    },
  ],
  describe: 'String or JSONArray',
};

/** Every content block type Claude takes on Bedrock, with the roles it may appear in. */
export const BLOCKS: Record<
  string,
  { roles: readonly ('user' | 'assistant')[]; spec: { object: Record<string, Spec>; required?: readonly string[] } }
> = {
  text: { roles: ['user', 'assistant'], spec: TEXT_BLOCK },
  image: { roles: ['user'], spec: IMAGE_BLOCK },
  document: { roles: ['user'], spec: DOCUMENT_BLOCK },
  search_result: { roles: ['user'], spec: SEARCH_RESULT_BLOCK },
  tool_use: {
    roles: ['assistant'],
    spec: {
      object: { type: 'string', id: 'string', name: 'string', input: 'object', cache_control: CACHE_CONTROL },
      required: ['id', 'name', 'input'],
    },
  },
  tool_result: {
    roles: ['user'],
    spec: {
      object: {
        type: 'string',
        tool_use_id: 'string',
        content: TOOL_RESULT_CONTENT,
        is_error: 'boolean',
        cache_control: CACHE_CONTROL,
      },
      required: ['tool_use_id'],
    },
  },
  thinking: {
    roles: ['assistant'],
    spec: { object: { type: 'string', thinking: 'string', signature: 'string' }, required: ['thinking', 'signature'] },
  },
  redacted_thinking: { roles: ['assistant'], spec: { object: { type: 'string', data: 'string' }, required: ['data'] } },
};

/** Blocks of server tools Bedrock does not run (their results can only come from Anthropic's API). */
export const SERVER_TOOL_BLOCKS = [
  'server_tool_use',
  'web_search_tool_result',
  'web_fetch_tool_result',
  'code_execution_tool_result',
  'bash_code_execution_tool_result',
  'text_editor_code_execution_tool_result',
  'mcp_tool_use',
  'mcp_tool_result',
  'container_upload',
  'tool_search_tool_result',
];

const SERVER_TOOLS = new Set(SERVER_TOOL_BLOCKS);
export const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const TOOL_NAME_SPEC: Spec = { pattern: TOOL_NAME, source: '^[a-zA-Z0-9_-]{1,64}$' };
const SYSTEM: Spec = { arrayOf: { byType: { text: TEXT_BLOCK } } };
const METADATA: Spec = { object: { user_id: 'string' } };
const CUSTOM_TOOL: Spec = {
  object: {
    name: TOOL_NAME_SPEC,
    description: 'string',
    input_schema: { object: { type: { enum: ['object'] } }, required: ['type'] },
    cache_control: CACHE_CONTROL,
    type: 'string',
  },
  required: ['name', 'input_schema'],
};
const TOOL_CHOICE: Spec = {
  byType: {
    auto: { object: { type: 'string', disable_parallel_tool_use: 'boolean' } },
    any: { object: { type: 'string', disable_parallel_tool_use: 'boolean' } },
    tool: { object: { type: 'string', name: 'string', disable_parallel_tool_use: 'boolean' }, required: ['name'] },
    none: { object: { type: 'string' } },
  },
};

function jsonType(v: unknown): string {
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
const isObject = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v);

/** A problem found inside a value: the keys down to it (innermost first), and what is wrong there given its path. */
interface Problem {
  keys: Array<string | number>;
  say(path: string): string;
}
type Check = (value: unknown) => Problem | undefined;

const problem = (say: (path: string) => string): Problem => ({ keys: [], say });
const typeProblem = (expected: string, value: unknown) =>
  problem((path) => `${path}: expected type: ${expected}, found: ${jsonType(value)}`);
const enumText = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

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
function compile(spec: Spec): Check {
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
        `f = v[${key}]; if (f !== undefined && ${test}) { p = typeProblem(${JSON.stringify(TYPE_NAMES[field])}, f); ${fail} }`,
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

/** The first way `value` breaks `spec`, in the schema validator's words with its JSON path (`#/messages/0/...`), or undefined. */
export function violation(value: unknown, spec: Spec, path: string): string | undefined {
  const p = compile(spec)(value);
  if (!p) return undefined;
  let at = path;
  for (let i = p.keys.length - 1; i >= 0; i--) at += `/${p.keys[i]}`;
  return p.say(at);
}

/** The block table, each spec compiled once. */
const COMPILED_BLOCKS = new Map(
  Object.entries(BLOCKS).map(([type, b]) => [
    type,
    {
      roles: b.roles,
      user: b.roles.includes('user'),
      assistant: b.roles.includes('assistant'),
      spec: b.spec,
      check: compile(b.spec),
    },
  ]),
);

const FIXES: Array<[RegExp, string]> = [
  [
    /media_type: .* is not a valid enum value/,
    'Send images as image/jpeg, image/png, image/gif or image/webp (convert others first); documents as application/pdf (base64) or text/plain (text).',
  ],
  [
    /\/type: .* is not a valid enum value/,
    'Use a content block type Claude takes: text, image, document, search_result, tool_use, tool_result, thinking or redacted_thinking.',
  ],
  [/does not match pattern/, 'Name tools with letters, digits, "_" and "-" only, at most 64 characters.'],
  [/required key/, 'Add the missing field; see the Messages API reference for the block.'],
];
function fixFor(detail: string): string {
  return FIXES.find(([re]) => re.test(detail))?.[1] ?? 'Send each field with the JSON type the Messages API gives it.';
}

function push(out: Diagnostic[], location: string, detail: string, fix = fixFor(detail)): void {
  const msg = malformed(detail);
  out.push({ code: 'content-invalid', severity: 'error', location, message: msg, fix, bedrock: validation(msg) });
}

/** `#/messages/0/content/1` as the location checks report it: `body.messages[0].content[1]`. */
function locationOf(path: string): string {
  return `body${path
    .slice(1)
    .replace(/\/(\d+)/g, '[$1]')
    .replace(/\//g, '.')}`;
}

/** What is wrong with a block that did not pass: not an object, an unknown or server-tool type, the wrong role, or a field. */
function blockProblem(
  out: Diagnostic[],
  b: unknown,
  block: { roles: readonly string[]; user: boolean; assistant: boolean; spec: Spec } | undefined,
  role: string,
  path: string,
): void {
  if (!isObject(b)) return push(out, locationOf(path), `${path}: expected type: JSONObject, found: ${jsonType(b)}`);
  const type = b['type'];
  if (!block) {
    if (typeof type === 'string' && SERVER_TOOLS.has(type))
      return push(
        out,
        locationOf(path),
        `${path}/type: ${type} is not a valid enum value`,
        `Bedrock does not run Anthropic's server tools, so a ${type} block cannot be sent to it: drop it, or put what it said in a text block.`,
      );
    return push(
      out,
      locationOf(`${path}/type`),
      type === undefined
        ? `${path}: required key [type] not found`
        : `${path}/type: ${enumText(type)} is not a valid enum value`,
    );
  }
  if (!(role === 'user' ? block.user : block.assistant))
    return push(
      out,
      locationOf(path),
      `${path}: a ${String(type)} block cannot be in a ${role} message`,
      `${String(type)} blocks go in ${block.roles.join(' or ')} messages.`,
    );
  const problem = violation(b, block.spec, path);
  if (problem) push(out, locationOf(problem.split(':')[0]!), problem);
}

export const contentSchema: Rule = {
  code: 'content-invalid',
  description:
    'A content block, tool or tool choice that breaks the Messages schema: an unknown block type, a field of the wrong type, an image media type Claude does not take, a tool name with spaces.',
  run(ctx) {
    const body = ctx.body;
    if (!body) return [];
    const out: Diagnostic[] = [];
    const messages = body['messages'];
    if (Array.isArray(messages)) {
      for (let i = 0; i < messages.length; i++) {
        const m = messages[i] as Json | null;
        const role = m?.['role'];
        const content = m?.['content'];
        if (!Array.isArray(content) || (role !== 'user' && role !== 'assistant')) continue; // messages-invalid says so
        for (let j = 0; j < content.length; j++) {
          const b: unknown = content[j];
          const block = isObject(b) && typeof b['type'] === 'string' ? COMPILED_BLOCKS.get(b['type']) : undefined;
          // The fast path: a known block in a role it may have, that passes its check. Paths are made only for a problem.
          if (block && (role === 'user' ? block.user : block.assistant) && !block.check(b)) continue;
          blockProblem(out, b, block, role, `#/messages/${i}/content/${j}`);
        }
      }
    }
    const system = body['system'];
    if (Array.isArray(system)) {
      const problem = violation(system, SYSTEM, '#/system');
      if (problem) push(out, locationOf(problem.split(':')[0]!), problem);
    }
    const tools = body['tools'];
    if (Array.isArray(tools)) {
      tools.forEach((t, i) => {
        // Anthropic-defined tools (bash_20250124, text_editor_..., computer_...) have a type and no input_schema.
        if (isObject(t) && typeof t['type'] === 'string' && t['type'] !== 'custom') {
          const problem = violation(t['name'], TOOL_NAME_SPEC, `#/tools/${i}/name`);
          if (problem) push(out, locationOf(problem.split(':')[0]!), problem);
          return;
        }
        const problem = violation(t, CUSTOM_TOOL, `#/tools/${i}`);
        if (problem) push(out, locationOf(problem.split(':')[0]!), problem);
      });
    }
    const metadata = body['metadata'];
    if (isObject(metadata)) {
      const problem = violation(metadata, METADATA, '#/metadata');
      if (problem)
        push(
          out,
          locationOf(problem.split(':')[0]!),
          problem,
          'Send metadata.user_id as a string (an opaque id, no personal data).',
        );
    }
    const choice = body['tool_choice'];
    if (isObject(choice)) {
      const problem = violation(choice, TOOL_CHOICE, '#/tool_choice');
      if (problem) push(out, locationOf(problem.split(':')[0]!), problem);
    }
    return out;
  },
};
