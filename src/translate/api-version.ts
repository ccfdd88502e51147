import type { ApiVersionRules, CatalogData } from '../catalog/catalog.js';
import { invalidRequest } from '../errors.js';
import { headerOf, type HeaderBag } from '../headers.js';
import type { Removal, SanitizePolicy } from './sanitize.js';

/**
 * The Anthropic API version the client speaks: the `anthropic-version` header, else an API date in the body's
 * `anthropic_version` (the Bedrock SDKs copy theirs there); `undefined` when neither names one the catalog knows.
 */
export function askedApiVersion(
  headers: HeaderBag | undefined,
  bodyVersion: unknown,
  data: CatalogData,
): string | undefined {
  const h = headers ? headerOf(headers, 'anthropic-version')?.trim() : undefined;
  if (h && data.anthropicApiVersions.includes(h)) return h;
  return typeof bodyVersion === 'string' && data.anthropicApiVersions.includes(bodyVersion) ? bodyVersion : undefined;
}

interface Found {
  name: string;
  reason: string;
  /** Whether the gateway can adapt the request (remove it) or only refuse it. */
  adaptable: boolean;
  apply?: () => void;
}

function blocksOf(message: unknown): unknown[] {
  const content = (message as { content?: unknown } | null)?.content;
  return Array.isArray(content) ? content : [];
}

/** Removes `citations` from one block, copying the messages array, the message and the block (the client's stay). */
function dropCitations(body: Record<string, unknown>, i: number, j: number): void {
  const messages = [...(body['messages'] as unknown[])];
  const message = messages[i] as Record<string, unknown>;
  const content = [...(message['content'] as unknown[])];
  const { citations: _c, ...block } = content[j] as Record<string, unknown>;
  content[j] = block;
  messages[i] = Object.assign({}, message, { content });
  body['messages'] = messages;
}

/** What in `body` the version's rules refuse: top-level fields, assistant documents, citations on user text. */
function findViolations(body: Record<string, unknown>, version: string, rules: ApiVersionRules): Found[] {
  const found: Found[] = [];
  for (const field of rules.refusedFields ?? []) {
    if (body[field] === undefined) continue;
    const reason = `API version ${version} does not take "${field}"`;
    found.push({ name: field, reason, adaptable: true, apply: () => delete body[field] });
  }
  const messages = Array.isArray(body['messages']) ? (body['messages'] as unknown[]) : [];
  messages.forEach((m, i) => {
    const role = (m as { role?: unknown } | null)?.role;
    blocksOf(m).forEach((b, j) => {
      if (!b || typeof b !== 'object') return;
      const block = b as Record<string, unknown>;
      const at = `messages[${i}].content[${j}]`;
      if (rules.assistantDocuments && role === 'assistant' && block['type'] === 'document')
        found.push({
          name: at,
          reason: `API version ${version} takes document blocks in user turns only`,
          adaptable: false,
        });
      if (rules.userTextCitations && role === 'user' && block['type'] === 'text' && block['citations'] !== undefined)
        found.push({
          name: `${at}.citations`,
          reason: `API version ${version} does not take citations on user text blocks`,
          adaptable: true,
          apply: () => dropCitations(body, i, j),
        });
    });
  });
  return found;
}

/**
 * Applies what the client's API version asks when the endpoint is sent an older one (and so would not enforce it):
 * under `drop` what can be removed is removed and reported, what cannot is refused; under `strict` every violation is
 * refused; under `passthrough` nothing is done. `body` is the caller's own copy of the top level; a message is copied
 * before one of its blocks changes.
 */
export function applyApiVersionRules(
  body: Record<string, unknown>,
  version: string | undefined,
  data: CatalogData,
  policy: SanitizePolicy,
  removals: Removal[],
): void {
  const rules = version ? data.apiVersions?.[version] : undefined;
  if (!rules || !version || policy === 'passthrough') return;
  const found = findViolations(body, version, rules);
  const refused = found.filter((f) => !f.adaptable || policy === 'strict');
  if (refused.length)
    throw invalidRequest(
      `${refused.map((f) => `${f.name}: ${f.reason}`).join('; ')}.`,
      `Remove ${refused.length === 1 ? 'it' : 'them'}, or send anthropic-version: 2023-06-01 (the version ` +
        `without these rules).`,
    );
  for (const f of found) {
    f.apply?.();
    removals.push({ kind: 'field', name: f.name, reason: f.reason });
  }
}
