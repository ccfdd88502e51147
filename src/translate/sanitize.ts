import type { Backend, CatalogData, ModelEntry } from '../catalog/catalog.js';
import { invalidRequest } from '../errors.js';
import { own } from '../own.js';

/**
 * What to do with betas and body fields Bedrock would reject:
 * `drop` removes them and reports each removal, `strict` refuses the request with a 400,
 * `passthrough` sends everything as is (Bedrock decides).
 */
export type SanitizePolicy = 'drop' | 'strict' | 'passthrough';
export const SANITIZE_POLICIES: readonly SanitizePolicy[] = ['drop', 'strict', 'passthrough'];

/** One change the sanitiser made (or, under `strict`, would have made). */
export interface Removal {
  kind: 'beta' | 'field' | 'tool' | 'tool-field' | 'clamp';
  /** The beta, field path or tool name. */
  name: string;
  reason: string;
}

/** Matches `name` against catalog patterns (`files-api-*`). */
export function matchesPattern(patterns: readonly string[], name: string): boolean {
  return patterns.some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : p === name));
}

/** What a beta's name looks like (`interleaved-thinking-2025-05-14`): nothing else passes to Bedrock. */
const BETA_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export type BetaVerdict =
  | { ok: true; beta: string; renamedFrom?: string; unsourced?: boolean }
  | { ok: false; reason: string; conflicting?: boolean };

/**
 * Whether Bedrock takes `beta` for `model` (renames such as advanced-tool-use → tool-search-tool
 * applied). Only a beta a source says Bedrock refuses is refused; one whose sources disagree is dropped
 * but never refused (`conflicting`); one no source names passes (`unsourced`: "don't reject what you
 * don't recognise").
 */
export function judgeBeta(beta: string, model: ModelEntry | undefined, data: CatalogData): BetaVerdict {
  if (!BETA_NAME.test(beta)) return { ok: false, reason: `"${beta.slice(0, 100)}" is not a beta name` };
  const renamed = own(data.betas.renamed, beta);
  const name = renamed ?? beta;
  if (matchesPattern(data.betas.rejected, name))
    return { ok: false, reason: `Bedrock does not accept the beta "${beta}" (invalid beta flag)` };
  const conflict = data.betas.conflicting ? own(data.betas.conflicting, name) : undefined;
  if (conflict) return { ok: false, conflicting: true, reason: `"${beta}" is not sent to InvokeModel: ${conflict}` };
  if (name === data.betas.context1m && model && !model.context1m) {
    return { ok: false, reason: `${model.displayName} does not support the 1M-token context beta "${beta}"` };
  }
  const unsourced = !matchesPattern(data.betas.accepted, name);
  if (renamed) return { ok: true, beta: name, renamedFrom: beta };
  return unsourced ? { ok: true, beta: name, unsourced } : { ok: true, beta: name };
}

const FOR_GATEWAYS = 'for gateways, not Bedrock';
const NOT_SENT = 'is not sent to InvokeModel';
const REQUEST_TAGS_BETA = 'request-tags-2026-08-21';

/**
 * `tags` and its beta are for gateways (Anthropic's gateway protocol): removed before Bedrock under
 * every policy, and said in `dropped`.
 */
function gatewayOnly(body: Record<string, unknown>, betas: string[], removals: Removal[]): string[] {
  if (Object.hasOwn(body, 'tags')) {
    delete body['tags'];
    removals.push({ kind: 'field', name: 'tags', reason: FOR_GATEWAYS });
  }
  if (!betas.includes(REQUEST_TAGS_BETA)) return betas;
  removals.push({ kind: 'beta', name: REQUEST_TAGS_BETA, reason: FOR_GATEWAYS });
  return betas.filter((b) => b !== REQUEST_TAGS_BETA);
}

/**
 * `safeguards` (Claude Code's auto mode) is a safety setting: Bedrock does not take it, and dropping it
 * would run the request without the checks it asks for. Refused, naming it, unless the operator asked
 * for everything to pass through.
 */
function refuseSafeguards(body: Record<string, unknown>, policy: SanitizePolicy): void {
  if (policy === 'passthrough' || !Object.hasOwn(body, 'safeguards')) return;
  throw invalidRequest(
    'safeguards: this field is not supported on Amazon Bedrock, and the gateway does not drop a safety setting ' +
      'silently.',
    'Send the request without "safeguards" (turn auto mode\'s safeguards off for this provider), or route the ' +
      'model to a backend that takes them.',
  );
}

interface SanitizeInput {
  body: Record<string, unknown>;
  betas: string[];
  model: ModelEntry | undefined;
  data: CatalogData;
  policy: SanitizePolicy;
  /** The endpoint (default `invoke`). The Messages-API endpoints take betas and fields no source says they refuse. */
  backend?: Backend | undefined;
}

/**
 * Removes (or, under `strict`, refuses) the betas and body fields Bedrock rejects for `model`.
 * Mutates `body` in place (the caller owns a fresh copy) and returns the betas to send.
 */
export function sanitizeBedrockBody({ body, betas, model, data, policy, backend }: SanitizeInput): {
  betas: string[];
  removals: Removal[];
} {
  const removals: Removal[] = [];
  // Claude Platform on AWS is the full Claude API: only what is for gateways leaves.
  if (backend !== 'platform') refuseSafeguards(body, policy);
  betas = gatewayOnly(body, betas, removals);
  if (policy === 'passthrough' || backend === 'platform') return { betas, removals };
  // "Don't reject what you don't recognise": the Messages-API endpoints get unknown fields and disputed betas.
  const open = backend === 'messages' || backend === 'mantle';
  const kept = keptBetas(betas, model, data, removals, open);
  dropFields(body, kept, data, removals, open);
  if (Array.isArray(body['tools'])) {
    const tools = keptTools(body['tools'] as unknown[], data, removals);
    if (tools.length) body['tools'] = tools;
    else delete body['tools'];
  }
  foldSystemMessages(body, removals);
  if (model) applyModelLimits(body, model, removals);
  const refused = removals.filter(
    (r) => !r.reason.startsWith('renamed') && !r.reason.startsWith(FOR_GATEWAYS) && !r.reason.includes(NOT_SENT),
  );
  if (policy === 'strict' && refused.length) {
    throw invalidRequest(
      `Bedrock would reject this request: ${refused.map((r) => `${r.name}: ${r.reason}`).join('; ')}.`,
      'Remove those betas and fields, or let the gateway drop them (policy "drop").',
    );
  }
  return { betas: kept, removals };
}

/** The betas Bedrock takes for the model (renamed to their Bedrock names), the others as removals. */
function keptBetas(
  betas: readonly string[],
  model: ModelEntry | undefined,
  data: CatalogData,
  removals: Removal[],
  open: boolean,
) {
  const kept: string[] = [];
  for (const beta of betas) {
    const verdict = judgeBeta(beta, model, data);
    if (!verdict.ok && verdict.conflicting && open) {
      if (!kept.includes(beta)) kept.push(beta);
    } else if (verdict.ok) {
      if (!kept.includes(verdict.beta)) kept.push(verdict.beta);
      if (verdict.renamedFrom)
        removals.push({ kind: 'beta', name: beta, reason: `renamed to "${verdict.beta}", its name on Bedrock` });
    } else {
      removals.push({ kind: 'beta', name: beta, reason: verdict.reason });
    }
  }
  return kept;
}

/** Fields InvokeModel does not accept, is closed to, or takes only with a beta that is not enabled. */
function dropFields(
  body: Record<string, unknown>,
  kept: readonly string[],
  data: CatalogData,
  removals: Removal[],
  open: boolean,
) {
  for (const key of Object.keys(body)) {
    if (data.body.unsupportedFields.includes(key)) {
      removals.push({ kind: 'field', name: key, reason: `Bedrock does not accept "${key}"` });
      delete body[key];
    } else if (!open && !data.body.allowedKeys.includes(key)) {
      const reason = `extraneous key [${key}] is not permitted by Bedrock's request schema`;
      removals.push({ kind: 'field', name: key, reason });
      delete body[key];
    }
  }
  for (const [field, beta] of Object.entries(data.body.fieldsRequiringBeta)) {
    if (Object.hasOwn(body, field) && !kept.includes(beta)) {
      removals.push({
        kind: 'field',
        name: field,
        reason: `"${field}" needs the beta "${beta}", which is not enabled`,
      });
      delete body[field];
    }
  }
}

/** Tools without the server tools Bedrock lacks, and without the tool fields it rejects. */
function keptTools(list: unknown[], data: CatalogData, removals: Removal[]): unknown[] {
  const tools: unknown[] = [];
  for (const tool of list) {
    if (!tool || typeof tool !== 'object') {
      tools.push(tool);
      continue;
    }
    const t = tool as Record<string, unknown>;
    const type = typeof t['type'] === 'string' ? t['type'] : undefined;
    if (type && matchesPattern(data.body.unsupportedToolTypes, type)) {
      const reason = `the server tool "${type}" is not available on Bedrock`;
      removals.push({ kind: 'tool', name: String(t['name'] ?? type), reason });
      continue;
    }
    for (const field of data.body.unsupportedToolFields) {
      if (Object.hasOwn(t, field)) {
        removals.push({
          kind: 'tool-field',
          name: `tools[${String(t['name'] ?? tools.length)}].${field}`,
          reason: `Bedrock rejects "${field}" on tools`,
        });
        delete t[field];
      }
    }
    tools.push(t);
  }
  return tools;
}

/** The model's own rules: temperature or top_p, and max_tokens lowered to its maximum. */
function applyModelLimits(body: Record<string, unknown>, model: ModelEntry, removals: Removal[]): void {
  if (!model.temperatureWithTopP && body['temperature'] !== undefined && body['top_p'] !== undefined) {
    removals.push({
      kind: 'field',
      name: 'top_p',
      reason: `\`temperature\` and \`top_p\` cannot both be specified for ${model.displayName}; kept temperature`,
    });
    delete body['top_p'];
  }
  if (typeof body['max_tokens'] === 'number' && body['max_tokens'] > model.maxOutputTokens) {
    removals.push({
      kind: 'clamp',
      name: 'max_tokens',
      reason:
        `max_tokens ${body['max_tokens']} is above ${model.displayName}'s maximum of ${model.maxOutputTokens}; ` +
        `lowered to it`,
    });
    body['max_tokens'] = model.maxOutputTokens;
  }
}

function asBlocks(content: unknown): unknown[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return Array.isArray(content) ? content : [];
}

/**
 * Messages with role `system` in the middle of a conversation (Claude Code sends them with a beta
 * Bedrock does not have) become text blocks of the neighbouring user message, wrapped in
 * `<system-reminder>` the way Claude Code itself injects context. Bedrock only takes user and
 * assistant turns. The caller's message objects are never mutated.
 */
function foldSystemMessages(body: Record<string, unknown>, removals: Removal[]): void {
  const messages = body['messages'];
  if (!Array.isArray(messages) || !messages.some((m) => (m as { role?: unknown } | null)?.role === 'system')) return;
  const out: Array<{ role: unknown; content: unknown[] } & Record<string, unknown>> = [];
  let pending: unknown[] = [];
  messages.forEach((m, i) => {
    const msg = m as { role?: unknown; content?: unknown } & Record<string, unknown>;
    if (msg?.role === 'system') {
      const text = asBlocks(msg.content)
        .map((b) =>
          b && typeof b === 'object' && typeof (b as { text?: unknown }).text === 'string'
            ? (b as { text: string }).text
            : '',
        )
        .join('\n');
      const block = { type: 'text', text: `<system-reminder>\n${text}\n</system-reminder>` };
      const prev = out[out.length - 1];
      if (prev && prev.role === 'user')
        out[out.length - 1] = Object.assign({}, prev, { content: [...asBlocks(prev.content), block] });
      else pending.push(block);
      removals.push({
        kind: 'field',
        name: `messages[${i}].role`,
        reason: 'Bedrock takes only user and assistant turns; the system message was folded into the user turn',
      });
      return;
    }
    if (msg?.role === 'user' && pending.length) {
      out.push(Object.assign({}, msg, { role: 'user', content: [...pending, ...asBlocks(msg.content)] }));
      pending = [];
      return;
    }
    if (pending.length) {
      out.push({ role: 'user', content: pending });
      pending = [];
    }
    out.push(msg as { role: unknown; content: unknown[] });
  });
  if (pending.length) out.push({ role: 'user', content: pending });
  body['messages'] = out;
}
