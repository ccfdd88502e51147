import { cacheTtls } from './cache-breakpoints.js';
import { imageDimensions } from './image-size.js';
import type { Diagnostic, DiagnosticCode } from './diagnostic.js';
import { modelSaid, validation, type Rule, type RuleContext } from './rule.js';

/**
 * The rules that relate one field to another, as a table: each says when a request breaks it, and
 * the words and the fix Bedrock's answer comes with. `block-schema.ts` checks each field alone.
 */

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v);

interface CrossRule {
  code: DiagnosticCode;
  location: string;
  /**
   * The model's words (Bedrock wraps them as "The model returned the following errors: ..."), or nothing when the rule
   * holds.
   */
  broken(body: Json, ctx: RuleContext): string | undefined;
  fix: string;
}

function thinkingOf(body: Json): Json | undefined {
  const t = body['thinking'];
  return isObject(t) && (t['type'] === 'enabled' || t['type'] === 'adaptive') ? t : undefined;
}

/** Whether the assistant turn `turn` has a `tool_use` with this id (a turn holds a few blocks: a scan, no set). */
function usedIn(turn: Json | null, id: string): boolean {
  const content = turn?.['content'];
  if (!Array.isArray(content) || turn!['role'] !== 'assistant') return false;
  for (let k = 0; k < content.length; k++) {
    const b = content[k] as Json | null;
    if (b && b['type'] === 'tool_use' && b['id'] === id) return true;
  }
  return false;
}

/** The first `tool_result` whose `tool_use_id` the assistant turn just before did not use. */
function unpairedToolResult(body: Json): string | undefined {
  const messages = body['messages'];
  if (!Array.isArray(messages)) return undefined;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as Json | null;
    const content = m?.['content'];
    if (!Array.isArray(content) || m!['role'] !== 'user') continue;
    for (let j = 0; j < content.length; j++) {
      const b = content[j] as Json | null;
      if (!b || b['type'] !== 'tool_result' || typeof b['tool_use_id'] !== 'string') continue;
      if (!usedIn(i > 0 ? (messages[i - 1] as Json | null) : null, b['tool_use_id'])) {
        return (
          `messages.${i}.content.${j}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ` +
          `${b['tool_use_id']}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the ` +
          `previous message.`
        );
      }
    }
  }
  return undefined;
}

/** Every image block of the messages (in tool results too) with its path, found once per body. */
const imagesSeen = new WeakMap<Json, Array<{ path: string; source: Json }>>();
function imagesOf(body: Json): Array<{ path: string; source: Json }> {
  let out = imagesSeen.get(body);
  if (out) return out;
  out = [];
  const messages = body['messages'];
  const visit = (content: unknown, path: string, list: Array<{ path: string; source: Json }>) => {
    if (!Array.isArray(content)) return;
    for (let j = 0; j < content.length; j++) {
      const b = content[j] as Json | null;
      if (!b || typeof b !== 'object') continue;
      if (b['type'] === 'image' && isObject(b['source'])) list.push({ path: `${path}.${j}`, source: b['source'] });
      else if (b['type'] === 'tool_result') visit(b['content'], `${path}.${j}.content`, list);
    }
  };
  if (Array.isArray(messages))
    for (let i = 0; i < messages.length; i++)
      visit((messages[i] as Json | null)?.['content'], `messages.${i}.content`, out);
  imagesSeen.set(body, out);
  return out;
}

export const CROSS_FIELD_RULES: readonly CrossRule[] = [
  {
    code: 'tool-result-unpaired',
    location: 'body.messages',
    broken: unpairedToolResult,
    fix:
      "Send each tool_result right after the assistant turn whose tool_use it answers, with that tool_use's id (a " +
      'trimmed history often drops the tool_use and keeps its result).',
  },
  {
    code: 'thinking-invalid',
    location: 'body.thinking.budget_tokens',
    broken: (body) => {
      const t = thinkingOf(body);
      if (!t || t['type'] !== 'enabled') return undefined;
      const budget = t['budget_tokens'];
      if (typeof budget !== 'number' || !Number.isInteger(budget))
        return 'thinking.enabled.budget_tokens: Field required';
      return budget < 1024
        ? 'thinking.enabled.budget_tokens: Input should be greater than or equal to 1024'
        : undefined;
    },
    fix: 'Give thinking a budget_tokens of at least 1,024.',
  },
  {
    code: 'thinking-invalid',
    location: 'body.thinking.type',
    // Bedrock's model card for Opus 4.7: `enabled` with `budget_tokens` "will return a 400 error".
    broken: (body, ctx) =>
      ctx.model?.adaptiveThinkingOnly && thinkingOf(body)?.['type'] === 'enabled'
        ? `thinking.type: "enabled" is not supported for ${ctx.model.displayName}; use "adaptive".`
        : undefined,
    fix:
      'Send thinking: {"type": "adaptive"} (and output_config.effort to steer how much it thinks) instead of ' +
      '"enabled" with budget_tokens.',
  },
  {
    code: 'thinking-invalid',
    location: 'body.max_tokens',
    broken: (body) => {
      const budget = thinkingOf(body)?.['budget_tokens'];
      const max = body['max_tokens'];
      return typeof budget === 'number' && typeof max === 'number' && budget >= max
        ? '`max_tokens` must be greater than `thinking.budget_tokens`.'
        : undefined;
    },
    fix: 'Raise max_tokens above thinking.budget_tokens (the budget is part of max_tokens), or lower the budget.',
  },
  {
    code: 'thinking-invalid',
    location: 'body.temperature',
    broken: (body) =>
      thinkingOf(body) && body['temperature'] !== undefined && body['temperature'] !== 1
        ? '`temperature` may only be set to 1 when thinking is enabled.'
        : undefined,
    fix: 'Leave temperature out (or set it to 1) when thinking is on.',
  },
  {
    code: 'thinking-invalid',
    location: 'body.top_k',
    broken: (body) =>
      thinkingOf(body) && body['top_k'] !== undefined ? '`top_k` may not be set when thinking is enabled.' : undefined,
    fix: 'Leave top_k out when thinking is on.',
  },
  {
    code: 'thinking-invalid',
    location: 'body.tool_choice',
    broken: (body) => {
      const choice = body['tool_choice'];
      return thinkingOf(body) && isObject(choice) && (choice['type'] === 'any' || choice['type'] === 'tool')
        ? 'Thinking may not be enabled when tool_choice forces tool use.'
        : undefined;
    },
    fix: 'Use tool_choice {"type": "auto"} with thinking, or turn thinking off to force a tool.',
  },
  {
    code: 'cache-control-invalid',
    location: 'body',
    broken: (body) => {
      const ttls = cacheTtls(body);
      if (ttls.length > 4) return `A maximum of 4 blocks with cache_control may be provided. Found ${ttls.length}.`;
      const first5m = ttls.indexOf('5m');
      return first5m >= 0 && ttls.indexOf('1h', first5m) > first5m
        ? "a ttl='1h' cache_control block must not come after a ttl='5m' cache_control block. Note that blocks are " +
            'processed in the following order: `tools`, `system`, `messages`.'
        : undefined;
    },
    fix:
      'Keep at most four cache_control breakpoints (the cache covers everything before each, so the last one or ' +
      'two usually do), the 1-hour ones before the 5-minute ones (tools, then system, then messages).',
  },
  {
    code: 'content-invalid',
    location: 'body.messages',
    broken: (body) => {
      const n = imagesOf(body).length;
      return n > 100 ? `messages: too many images: ${n} (at most 100 per request).` : undefined;
    },
    fix: 'Send at most 100 images in one request (fewer, and smaller, for large ones).',
  },
  {
    code: 'content-invalid',
    location: 'body.messages',
    // Claude's limits (the Anthropic docs on vision, Bedrock's "Third-party model provider requirements"):
    // 8000 px a side, and 2000 px when a request holds more than 20 images.
    broken: (body) => {
      const images = imagesOf(body);
      const max = images.length > 20 ? 2000 : 8000;
      for (const { path, source } of images) {
        if (
          source['type'] !== 'base64' ||
          typeof source['data'] !== 'string' ||
          typeof source['media_type'] !== 'string'
        )
          continue;
        const size = imageDimensions(source['media_type'], source['data']);
        if (size && (size.width > max || size.height > max))
          return (
            `${path}.image.source.base64.data: At least one of the image dimensions exceed max allowed ` +
            `size${images.length > 20 ? ' for many-image requests' : ''}: ${max} pixels`
          );
      }
      return undefined;
    },
    fix:
      'Scale images down before sending them: at most 8000 px a side, or 2000 px when the request has more than ' +
      '20 images (Claude scales anything over 1568 px down anyway).',
  },
];

export const crossField: Rule = {
  code: 'thinking-invalid',
  description:
    'A request whose fields contradict each other: a tool_result without its tool_use, a thinking budget under 1,024 ' +
    'or not under max_tokens, thinking with temperature, top_k or a forced tool, more than four cache points or a ' +
    '1-hour one after a 5-minute one, more than 100 images.',
  run(ctx) {
    const body = ctx.body;
    if (!body) return [];
    const out: Diagnostic[] = [];
    for (const rule of CROSS_FIELD_RULES) {
      const detail = rule.broken(body, ctx);
      if (detail === undefined) continue;
      const msg = modelSaid(detail);
      out.push({
        code: rule.code,
        severity: 'error',
        location: rule.location,
        message: msg,
        fix: rule.fix,
        bedrock: validation(msg),
      });
    }
    return out;
  },
};
