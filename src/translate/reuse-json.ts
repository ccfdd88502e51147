/**
 * Serialising a translated body without re-serialising what did not change. A request is mostly
 * `messages` (80 KB and more for Claude Code), which translation passes on untouched: its JSON text
 * as the client wrote it is reused instead of `JSON.stringify` escaping every character again.
 */

/** A JSON object body as the client sent it: its text, and what that text parses to. */
export interface SourceJson {
  text: string;
  value: Record<string, unknown>;
}

/**
 * `JSON.stringify(body)`, except that a member whose value is the very value the client sent
 * (the same object, or an equal primitive) is written as the client's own JSON text for it.
 * Parses to exactly what `JSON.stringify(body)` parses to.
 */
export function stringifyReusing(body: Record<string, unknown>, source: SourceJson | undefined): string {
  const members = source ? topLevelMembers(source.text) : undefined;
  if (!source || !members) return JSON.stringify(body);
  let out = '{';
  for (const key of Object.keys(body)) {
    const value = body[key];
    const text = value === source.value[key] && Object.hasOwn(source.value, key) ? members.get(key) : undefined;
    const json = text ?? JSON.stringify(value);
    if (json === undefined) continue; // undefined, functions, symbols: left out, as JSON.stringify does
    out += `${out.length > 1 ? ',' : ''}${JSON.stringify(key)}:${json}`;
  }
  return `${out}}`;
}

/**
 * The raw JSON text of each top-level member's value (the last one, for a repeated key, as
 * `JSON.parse` keeps), or undefined when the text is not a JSON object. Strings are skipped with a
 * native search for the closing quote, so a long text costs little.
 */
export function topLevelMembers(text: string): Map<string, string> | undefined {
  const members = new Map<string, string>();
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) !== 123) return undefined;
  i = skipSpace(text, i + 1);
  if (text.charCodeAt(i) === 125) return skipSpace(text, i + 1) === text.length ? members : undefined;
  for (;;) {
    if (text.charCodeAt(i) !== 34) return undefined;
    const keyEnd = stringEnd(text, i);
    if (keyEnd < 0) return undefined;
    const rawKey = text.slice(i, keyEnd);
    let key: string;
    try {
      key = rawKey.includes('\\') ? (JSON.parse(rawKey) as string) : rawKey.slice(1, -1);
    } catch {
      return undefined;
    }
    i = skipSpace(text, keyEnd);
    if (text.charCodeAt(i) !== 58) return undefined;
    const start = skipSpace(text, i + 1);
    const end = valueEnd(text, start);
    if (end <= start) return undefined;
    members.delete(key); // a repeated key: the last one counts
    members.set(key, text.slice(start, end));
    i = skipSpace(text, end);
    const c = text.charCodeAt(i);
    if (c === 44) i = skipSpace(text, i + 1);
    else if (c === 125) return skipSpace(text, i + 1) === text.length ? members : undefined;
    else return undefined;
  }
}

function skipSpace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) return i;
    i++;
  }
}

/** The index after the closing quote of the string starting at `at`, or -1. */
function stringEnd(text: string, at: number): number {
  let from = at + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote < 0) return -1;
    let backslashes = 0;
    for (let b = quote - 1; text.charCodeAt(b) === 92; b--) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/** The index after the JSON value starting at `start`, or -1. */
function valueEnd(text: string, start: number): number {
  const first = text.charCodeAt(start);
  if (first === 34) return stringEnd(text, start);
  if (first !== 123 && first !== 91) {
    let j = start;
    for (; j < text.length; j++) {
      const c = text.charCodeAt(j);
      if (c === 44 || c === 125 || c === 93 || c === 32 || c === 10 || c === 13 || c === 9) break;
    }
    return j;
  }
  let depth = 0;
  for (let j = start; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === 34) {
      const end = stringEnd(text, j);
      if (end < 0) return -1;
      j = end - 1;
    } else if (c === 123 || c === 91) depth++;
    else if (c === 125 || c === 93) {
      if (--depth === 0) return j + 1;
    }
  }
  return -1;
}
