import { isLegacyModel } from '../catalog/backends.js';
import { sampling } from './sampling-rule.js';
import { contentSchema } from './block-schema.js';
import { crossField } from './cross-field-rules.js';
import { matchesPattern } from '../translate/sanitize.js';
import type { Diagnostic } from './diagnostic.js';
import { unsupportedApiFor } from '../catalog/unsupported-apis.js';

import { contextWindow, emptyContent, maxTokens, temperatureTopP } from './content-rules.js';
import { missingRegion, modelIdFormat, notInRegion, onDemand } from './model-id-rules.js';
import { apiKeyHeader, betaHeader, betas } from './header-rules.js';
import { malformed, validation, type Rule, type RuleContext } from './rule.js';

export type { Rule, RuleContext };

/** The ARN-versioned models of the legacy integration do not take the newer API versions (2026-10-21). */
function refusedByLegacyModel(v: string, ctx: RuleContext): Diagnostic[] {
  const data = ctx.catalog.data;
  if (data.apiVersions?.[v]?.legacyModels !== 'refused' || !ctx.model || !isLegacyModel(ctx.model)) return [];
  const msg = malformed(`#/anthropic_version: ${v} is not supported by this model`);
  const fix =
    `${ctx.model.displayName} is a legacy Bedrock model: send "anthropic_version": "${data.anthropicVersion}" (an ` +
    `SDK major that sends ${v} can be pinned to 2023-06-01), or use a model from Opus 4.7 on.`;
  const location = 'body.anthropic_version';
  return [{ code: 'anthropic-version', severity: 'error', location, message: msg, fix, bedrock: validation(msg) }];
}

const anthropicVersion: Rule = {
  code: 'anthropic-version',
  description: 'Missing or wrong anthropic_version in a Bedrock body (400 from Bedrock).',
  run(ctx) {
    if (ctx.input.format !== 'bedrock' || !ctx.body) return [];
    const v = ctx.body['anthropic_version'];
    const data = ctx.catalog.data;
    if (v === undefined) {
      return [
        {
          code: 'anthropic-version',
          severity: 'error',
          location: 'body.anthropic_version',
          message: malformed('#: required key [anthropic_version] not found'),
          fix: `Add "anthropic_version": "${data.anthropicVersion}" to the request body.`,
          bedrock: validation(malformed('#: required key [anthropic_version] not found')),
        },
      ];
    }
    if (typeof v === 'string' && data.acceptedAnthropicVersions.includes(v)) return [];
    const legacy = typeof v === 'string' ? refusedByLegacyModel(v, ctx) : [];
    if (legacy.length) return legacy;
    if (typeof v === 'string' && data.anthropicApiVersions.includes(v)) {
      return [
        {
          code: 'anthropic-version',
          severity: 'warning',
          location: 'body.anthropic_version',
          message:
            `anthropic_version "${v}" is an Anthropic API version (the header value), not Bedrock's ` +
            `documented "${data.anthropicVersion}".`,
          fix: `Use "anthropic_version": "${data.anthropicVersion}".`,
        },
      ];
    }
    const msg = malformed(`#/anthropic_version: ${JSON.stringify(v)} is not a valid anthropic_version`);
    return [
      {
        code: 'anthropic-version',
        severity: 'error',
        location: 'body.anthropic_version',
        message: msg,
        fix: `Use "anthropic_version": "${data.anthropicVersion}".`,
        bedrock: validation(msg),
      },
    ];
  },
};

const closedSchema: Rule = {
  code: 'extraneous-key',
  description: '`model` or `stream` (or any key Bedrock does not know) inside a Bedrock body.',
  run(ctx) {
    if (ctx.input.format !== 'bedrock' || !ctx.body) return [];
    const out: Diagnostic[] = [];
    for (const key of Object.keys(ctx.body)) {
      if (ctx.catalog.data.body.allowedKeys.includes(key)) continue;
      const msg = malformed(`#: extraneous key [${key}] is not permitted`);
      const fix =
        key === 'model'
          ? 'Remove "model" from the body: on Bedrock the model ID goes in the URL path (--model-id).'
          : key === 'stream'
            ? 'Remove "stream" from the body: call invoke-with-response-stream to stream.'
            : key === 'betas'
              ? 'Rename "betas" to "anthropic_beta".'
              : `Remove "${key}": Bedrock's request schema is closed.`;
      out.push({
        code: key === 'model' || key === 'stream' ? `body-${key}` : 'extraneous-key',
        severity: 'error',
        location: `body.${key}`,
        message: msg,
        fix,
        bedrock: validation(msg),
      });
    }
    return out;
  },
};

/** `messages` that is not a non-empty array, or holds a message without a role and content. */
function messagesProblems(messages: unknown): Diagnostic[] {
  const out: Diagnostic[] = [];
  if (messages !== undefined && (!Array.isArray(messages) || messages.length === 0)) {
    const msg = malformed('#/messages: expected a non-empty array');
    out.push({
      code: 'messages-invalid',
      severity: 'error',
      location: 'body.messages',
      message: msg,
      fix: 'Send at least one message: [{"role": "user", "content": "Hello"}].',
      bedrock: validation(msg),
    });
  } else if (Array.isArray(messages)) {
    messages.forEach((m, i) => {
      const role = (m as { role?: unknown } | null)?.role;
      const content = (m as { content?: unknown } | null)?.content;
      if ((role !== 'user' && role !== 'assistant') || (typeof content !== 'string' && !Array.isArray(content))) {
        const msg = malformed(
          `#/messages/${i}: each message needs "role" (user or assistant) and "content" (a string or an array ` +
            `of blocks)`,
        );
        out.push({
          code: 'messages-invalid',
          severity: 'error',
          location: `body.messages[${i}]`,
          message: msg,
          fix: 'Write messages as {"role": "user", "content": "..."}.',
          bedrock: validation(msg),
        });
      }
    });
  }
  return out;
}

const requiredKeys: Rule = {
  code: 'required-key',
  description: 'Body not a JSON object, or max_tokens / messages missing or invalid.',
  run(ctx) {
    if (ctx.body === undefined) {
      const msg = 'Malformed input request: the body is not a JSON object, please reformat your input and try again.';
      return [
        {
          code: 'body-not-object',
          severity: 'error',
          location: 'body',
          message: msg,
          fix: 'Send a JSON object body: {"max_tokens": ..., "messages": [...]}.',
          bedrock: validation(msg),
        },
      ];
    }
    const out: Diagnostic[] = [];
    const isCount = /count[_-]tokens/.test(ctx.input.path ?? '');
    for (const key of ['max_tokens', 'messages']) {
      if (key === 'max_tokens' && isCount) continue;
      if (ctx.body[key] === undefined) {
        const msg = malformed(`#: required key [${key}] not found`);
        out.push({
          code: 'required-key',
          severity: 'error',
          location: `body.${key}`,
          message: msg,
          fix:
            key === 'max_tokens'
              ? 'Add "max_tokens", e.g. 1024.'
              : 'Add "messages": [{"role": "user", "content": "..."}].',
          bedrock: validation(msg),
        });
      }
    }
    const mt = ctx.body['max_tokens'];
    if (mt !== undefined && (typeof mt !== 'number' || !Number.isInteger(mt) || mt < 1)) {
      const msg = malformed(`#/max_tokens: ${JSON.stringify(mt)} is not a positive integer`);
      out.push({
        code: 'max-tokens-invalid',
        severity: 'error',
        location: 'body.max_tokens',
        message: msg,
        fix: 'Set max_tokens to a whole number of at least 1.',
        bedrock: validation(msg),
      });
    }
    out.push(...messagesProblems(ctx.body['messages']));
    return out;
  },
};

/** JSON types Bedrock's schema expects for top-level fields, in the schema validator's own words. */
const FIELD_TYPES: Record<string, { check: (v: unknown) => boolean; expected: string }> = {
  system: { check: (v) => typeof v === 'string' || Array.isArray(v), expected: 'String or JSONArray' },
  tools: { check: Array.isArray, expected: 'JSONArray' },
  tool_choice: { check: (v) => !!v && typeof v === 'object' && !Array.isArray(v), expected: 'JSONObject' },
  thinking: { check: (v) => !!v && typeof v === 'object' && !Array.isArray(v), expected: 'JSONObject' },
  metadata: { check: (v) => !!v && typeof v === 'object' && !Array.isArray(v), expected: 'JSONObject' },
  temperature: { check: (v) => typeof v === 'number' && v >= 0 && v <= 1, expected: 'Number between 0 and 1' },
  top_p: { check: (v) => typeof v === 'number' && v >= 0 && v <= 1, expected: 'Number between 0 and 1' },
  top_k: { check: (v) => typeof v === 'number' && Number.isInteger(v) && v >= 0, expected: 'Integer' },
  stop_sequences: {
    check: (v) => Array.isArray(v) && v.every((x) => typeof x === 'string'),
    expected: 'JSONArray of String',
  },
};

function jsonTypeName(v: unknown): string {
  if (v === null) return 'Null';
  if (Array.isArray(v)) return 'JSONArray';
  if (typeof v === 'object') return 'JSONObject';
  if (typeof v === 'number') return Number.isInteger(v) ? 'Integer' : 'Number';
  return typeof v === 'string' ? 'String' : 'Boolean';
}

const fieldTypes: Rule = {
  code: 'field-type',
  description: 'A field of the wrong JSON type (tools not an array, temperature a string, ...).',
  run(ctx) {
    if (!ctx.body) return [];
    const out: Diagnostic[] = [];
    for (const [field, spec] of Object.entries(FIELD_TYPES)) {
      const v = ctx.body[field];
      if (v === undefined || spec.check(v)) continue;
      const msg = malformed(`#/${field}: expected type: ${spec.expected}, found: ${jsonTypeName(v)}`);
      out.push({
        code: 'field-type',
        severity: 'error',
        location: `body.${field}`,
        message: msg,
        fix: `Send "${field}" as ${spec.expected}.`,
        bedrock: validation(msg),
      });
    }
    return out;
  },
};

/** Server tools and tool fields Bedrock does not have. */
function unsupportedToolProblems(ctx: RuleContext, body: Record<string, unknown>): Diagnostic[] {
  const out: Diagnostic[] = [];
  const tools = Array.isArray(body['tools']) ? (body['tools'] as unknown[]) : [];
  tools.forEach((t, i) => {
    const type = (t as { type?: unknown } | null)?.type;
    if (typeof type === 'string' && matchesPattern(ctx.catalog.data.body.unsupportedToolTypes, type)) {
      out.push({
        code: 'unsupported-on-bedrock',
        severity: 'error',
        location: `body.tools[${i}]`,
        message: `The server tool "${type}" is not available on Amazon Bedrock.`,
        fix: 'Implement it as a client tool (a function your code runs), or remove it.',
        bedrock: validation(malformed(`#/tools/${i}: tool type [${type}] is not supported`)),
      });
    }
    for (const field of ctx.catalog.data.body.unsupportedToolFields) {
      if (t && typeof t === 'object' && field in t) {
        out.push({
          code: 'unsupported-on-bedrock',
          severity: 'error',
          location: `body.tools[${i}].${field}`,
          message: `Bedrock rejects "${field}" on tools.`,
          fix: `Remove "${field}" from the tool definition.`,
          bedrock: validation(malformed(`#/tools/${i}: extraneous key [${field}] is not permitted`)),
        });
      }
    }
  });
  return out;
}

/** Fields that Bedrock takes only with their beta named. */
function betaFieldProblems(ctx: RuleContext, body: Record<string, unknown>): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const [field, beta] of Object.entries(ctx.catalog.data.body.fieldsRequiringBeta)) {
    const all = [...ctx.bodyBetas, ...(ctx.input.format === 'anthropic' ? ctx.headerBetas : [])];
    if (field in body && !all.includes(beta)) {
      const msg = malformed(`#: extraneous key [${field}] is not permitted`);
      out.push({
        code: 'field-needs-beta',
        severity: ctx.input.format === 'bedrock' ? 'error' : 'warning',
        location: `body.${field}`,
        message: `"${field}" needs the beta "${beta}"; without it Bedrock answers: ${msg}`,
        fix: `Add "${beta}" to anthropic_beta, or remove "${field}".`,
        bedrock: validation(msg),
      });
    }
  }
  return out;
}

const unsupportedApis: Rule = {
  code: 'unsupported-on-bedrock',
  description:
    'APIs and server tools Bedrock does not have (batches, files, skills, models API, web search/fetch, code ' +
    'execution, MCP connector).',
  run(ctx) {
    const out: Diagnostic[] = [];
    const api = unsupportedApiFor(ctx.input.path ?? '');
    if (api)
      out.push({
        code: 'unsupported-on-bedrock',
        severity: 'error',
        location: 'path',
        message: `${api.name.charAt(0).toUpperCase()}${api.name.slice(1)} is not available on Amazon Bedrock.`,
        fix: api.fix,
      });
    if (!ctx.body) return out;
    out.push(...unsupportedToolProblems(ctx, ctx.body));
    // In a Bedrock body these are extraneous keys, which the closed-schema rule reports.
    for (const field of ctx.input.format === 'anthropic' ? ctx.catalog.data.body.unsupportedFields : []) {
      if (field in ctx.body) {
        out.push({
          code: 'unsupported-on-bedrock',
          severity: 'warning',
          location: `body.${field}`,
          message:
            `"${field}" is not available on Amazon ` +
            `Bedrock${field === 'mcp_servers' ? ' (the MCP connector)' : ''}.`,
          fix: `Remove "${field}" (a gateway with policy "drop" removes it).`,
        });
      }
    }
    out.push(...betaFieldProblems(ctx, ctx.body));
    return out;
  },
};

/** Every preflight rule, in the order their diagnostics are reported. */
export const RULES: readonly Rule[] = [
  missingRegion,
  modelIdFormat,
  onDemand,
  notInRegion,
  requiredKeys,
  emptyContent,
  fieldTypes,
  contentSchema,
  crossField,
  anthropicVersion,
  closedSchema,
  apiKeyHeader,
  betaHeader,
  betas,
  temperatureTopP,
  sampling,
  maxTokens,
  contextWindow,
  unsupportedApis,
];
