import type { Diagnostic } from './diagnostic.js';
import { malformed, validation, type Rule } from './rule.js';
import { compile, enumText, isObject, jsonType, violation, type Spec } from './spec-check.js';

/**
 * What Bedrock's schema says of each content block, tool and tool choice, as data: a spec per
 * block type (its roles, required fields and each field's type), read by one small interpreter that
 * reports the first problem of each block in the schema validator's words, with its JSON path
 * (`Malformed input request: #/messages/0/content/1/source/media_type: image/bmp is not a valid enum value`).
 * Cross-field rules (pairing, thinking, cache points) are in `cross-field-rules.ts`.
 */

type Json = Record<string, unknown>;

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
    'Send images as image/jpeg, image/png, image/gif or image/webp (convert others first); documents as ' +
      'application/pdf (base64) or text/plain (text).',
  ],
  [
    /\/type: .* is not a valid enum value/,
    'Use a content block type Claude takes: text, image, document, search_result, tool_use, tool_result, thinking or ' +
      'redacted_thinking.',
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

/**
 * What is wrong with a block that did not pass: not an object, an unknown or server-tool type, the wrong role, or a
 * field.
 */
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
        `Bedrock does not run Anthropic's server tools, so a ${type} block cannot be sent to it: drop it, or put ` +
          `what it said in a text block.`,
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

/** Pushes the first violation of `spec` by `value`, if any. */
function checkAgainst(
  out: Diagnostic[],
  value: unknown,
  spec: Parameters<typeof violation>[1],
  path: string,
  fix?: string,
) {
  const problem = violation(value, spec, path);
  if (problem) push(out, locationOf(problem.split(':')[0]!), problem, fix);
}

function messageBlockProblems(out: Diagnostic[], messages: unknown[]): void {
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as Json | null;
    const role = m?.['role'];
    const content = m?.['content'];
    if (!Array.isArray(content) || (role !== 'user' && role !== 'assistant')) continue; // messages-invalid says so
    for (let j = 0; j < content.length; j++) {
      const b: unknown = content[j];
      const block = isObject(b) && typeof b['type'] === 'string' ? COMPILED_BLOCKS.get(b['type']) : undefined;
      // The fast path: a known block in a role it may have, that passes its check. Paths are made only for a
      // problem.
      if (block && (role === 'user' ? block.user : block.assistant) && !block.check(b)) continue;
      blockProblem(out, b, block, role, `#/messages/${i}/content/${j}`);
    }
  }
}

function toolProblems(out: Diagnostic[], tools: unknown[]): void {
  tools.forEach((t, i) => {
    // Anthropic-defined tools (bash_20250124, text_editor_..., computer_...) have a type and no input_schema.
    if (isObject(t) && typeof t['type'] === 'string' && t['type'] !== 'custom')
      checkAgainst(out, t['name'], TOOL_NAME_SPEC, `#/tools/${i}/name`);
    else checkAgainst(out, t, CUSTOM_TOOL, `#/tools/${i}`);
  });
}

export const contentSchema: Rule = {
  code: 'content-invalid',
  description:
    'A content block, tool or tool choice that breaks the Messages schema: an unknown block type, a field of the ' +
    'wrong type, an image media type Claude does not take, a tool name with spaces.',
  run(ctx) {
    const body = ctx.body;
    if (!body) return [];
    const out: Diagnostic[] = [];
    const { messages, system, tools, metadata, tool_choice: choice } = body;
    if (Array.isArray(messages)) messageBlockProblems(out, messages);
    if (Array.isArray(system)) checkAgainst(out, system, SYSTEM, '#/system');
    if (Array.isArray(tools)) toolProblems(out, tools);
    if (isObject(metadata))
      checkAgainst(
        out,
        metadata,
        METADATA,
        '#/metadata',
        'Send metadata.user_id as a string (an opaque id, no personal data).',
      );
    if (isObject(choice)) checkAgainst(out, choice, TOOL_CHOICE, '#/tool_choice');
    return out;
  },
};
