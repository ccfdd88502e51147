// What a stream delivered to the client before it ended: the content deltas passed on and the bytes
// of what they carried. When no final usage comes (the client left, the upstream died, a timeout),
// the output is charged from this, not as the 0 or 1 token of the stream's first event.

/** Content delta events passed on, and the bytes of their text, tool input or thinking. */
export interface Delivered {
  deltas: number;
  bytes: number;
}

/** `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":""}}`: what is not content. */
const ENVELOPE_BYTES = 78;

/** A content delta seen as raw JSON bytes (not parsed): its length less the envelope. */
export function countRawDelta(delivered: Delivered, jsonLength: number): void {
  countDeltaBytes(delivered, jsonLength - ENVELOPE_BYTES);
}

/** A content delta that carried this many bytes. */
export function countDeltaBytes(delivered: Delivered, bytes: number): void {
  delivered.deltas++;
  delivered.bytes += Math.max(0, bytes);
}

/**
 * A parsed content delta: the length of what it carries as a JSON string, as the unparsed paths measure it (a
 * signature is not output).
 */
export function countDelta(delivered: Delivered, delta: Record<string, unknown> | undefined): void {
  const carried = delta?.['text'] ?? delta?.['partial_json'] ?? delta?.['thinking'];
  countDeltaBytes(delivered, typeof carried === 'string' ? JSON.stringify(carried).length - 2 : 0);
}

/**
 * The output tokens a stream delivered, estimated: about four bytes a token, and at least one a
 * delta (each delta carries at least one token).
 */
export function deliveredOutputTokens(delivered: Delivered): number {
  return Math.max(delivered.deltas, Math.ceil(delivered.bytes / 4));
}
