import { BedrockClaudeError } from '../errors.js';

function parseEvent(data: string): Record<string, unknown> {
  let event: unknown;
  try {
    event = JSON.parse(data);
  } catch {
    event = undefined;
  }
  if (!event || typeof event !== 'object' || Array.isArray(event))
    throw new BedrockClaudeError('The stream sent an SSE event whose data is not a JSON object.', {
      status: 502,
      type: 'api_error',
    });
  return event as Record<string, unknown>;
}

/**
 * Parses Anthropic SSE bytes into events (`{type, ...}` objects). Used by the library client to
 * hand out events, and by tests. Accepts chunks split anywhere.
 */
export async function* parseSse(source: AsyncIterable<Uint8Array>): AsyncGenerator<Record<string, unknown>> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of source) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trimStart())
        .join('\n');
      if (data) yield parseEvent(data);
    }
  }
}
