/**
 * A deterministic token estimate for a Messages body: about four characters a token for text and
 * JSON, a fixed cost per image and document. Good enough to warn before a prompt outgrows the
 * context window; Bedrock CountTokens gives the exact figure.
 */
const IMAGE_TOKENS = 1600;
const DOCUMENT_TOKENS = 3000;
/** Tokens a message costs beyond its content (role, framing). */
export const PER_MESSAGE = 4;

export function textTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** The estimated tokens of one content block. */
export function blockTokens(block: unknown): number {
  return contentTokens([block]);
}

function contentTokens(content: unknown): number {
  if (typeof content === 'string') return textTokens(content);
  if (!Array.isArray(content))
    return content === undefined || content === null ? 0 : textTokens(JSON.stringify(content));
  let n = 0;
  for (const block of content) {
    if (!block || typeof block !== 'object') continue;
    const b = block as Record<string, unknown>;
    switch (b['type']) {
      case 'text':
        n += textTokens(String(b['text'] ?? ''));
        break;
      case 'image':
        n += IMAGE_TOKENS;
        break;
      case 'document':
        n += DOCUMENT_TOKENS;
        break;
      case 'thinking':
        n += textTokens(String(b['thinking'] ?? ''));
        break;
      case 'tool_result':
        n += contentTokens(b['content']) + 8;
        break;
      default:
        n += textTokens(JSON.stringify(b));
    }
  }
  return n;
}

/**
 * Estimated input tokens of an Anthropic or Bedrock Messages body (system, messages, tools).
 *
 * @example
 * ```ts
 * estimateInputTokens({ messages: [{ role: 'user', content: 'Hello, world' }] }); // 7
 * ```
 */
export function estimateInputTokens(body: Record<string, unknown>): number {
  let n = 0;
  n += contentTokens(body['system']);
  if (Array.isArray(body['messages'])) {
    for (const m of body['messages']) {
      n += PER_MESSAGE + contentTokens((m as { content?: unknown } | null)?.content);
    }
  }
  if (Array.isArray(body['tools'])) n += textTokens(JSON.stringify(body['tools']));
  return Math.max(1, n);
}
