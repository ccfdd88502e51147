import { readFileSync } from 'node:fs';
import { styleText } from 'node:util';
import { BedrockClaudeError } from '../errors.js';

/**
 * Exit codes of every command: 0 done; 1 the request or input was refused (preflight error, 4xx,
 * unknown model, failed check); 2 bad usage of the CLI; 3 Bedrock or the network failed (5xx,
 * throttling, timeouts, unreachable endpoint).
 */
export const EXIT = { ok: 0, refused: 1, usage: 2, upstream: 3 } as const;

/**
 * The exit code of an error that stopped a command: 3 when Bedrock, the store or the network failed (5xx, throttling,
 * a database or gateway that cannot be reached), else 1 (refused: a 4xx, a name not found, a check that failed).
 * Commander's own usage errors exit 2 before this.
 */
export function exitCodeOf(err: unknown): number {
  const e = err as { status?: unknown; kind?: unknown; code?: unknown; cause?: unknown } | undefined;
  if (typeof e?.status === 'number') return e.status >= 500 || e.status === 429 ? EXIT.upstream : EXIT.refused;
  if (e?.kind === 'unavailable') return EXIT.upstream;
  const code = e?.code ?? (e?.cause as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|UND_ERR_)/.test(code))
    return EXIT.upstream;
  return EXIT.refused;
}

type Style = Parameters<typeof styleText>[0];
const colour = (stream: NodeJS.WriteStream) =>
  stream.isTTY && !process.env['NO_COLOR'] && process.env['TERM'] !== 'dumb';

/** Colours text for a stream only when it is a terminal (and NO_COLOR is not set). */
export function paint(stream: NodeJS.WriteStream, style: Style, text: string): string {
  return colour(stream) ? styleText(style, text) : text;
}

/** The exit code for an error. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof BedrockClaudeError)
    return err.status >= 500 ||
      err.type === 'rate_limit_error' ||
      err.type === 'overloaded_error' ||
      err.type === 'timeout_error'
      ? EXIT.upstream
      : EXIT.refused;
  return EXIT.upstream;
}

/** Prints an error (with its fix) to stderr and sets the exit code. */
export function fail(err: unknown, json = false): void {
  const e = err instanceof BedrockClaudeError ? err : undefined;
  const message = e?.message ?? (err as Error)?.message ?? String(err);
  if (json) console.log(JSON.stringify({ error: { type: e?.type ?? 'error', message, fix: e?.fix ?? null } }, null, 2));
  console.error(`${paint(process.stderr, 'red', 'error:')} ${message}`);
  if (e?.fix) console.error(`${paint(process.stderr, 'yellow', 'fix:')} ${e.fix}`);
  process.exitCode = exitCodeFor(err);
}

/** Reads a file argument, or stdin for `-` (or no argument when stdin is not a terminal). */
export function readInput(file: string | undefined): string | undefined {
  if (file && file !== '-') {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'there is no such file' : code === 'EISDIR' ? 'it is a folder' : code;
      throw Object.assign(new Error(`cannot read ${file}: ${why ?? (err as Error).message}`), {
        fix: 'Give the path of a JSON file, or - to read standard input.',
      });
    }
  }
  if (file === '-' || !process.stdin.isTTY) return readFileSync(0, 'utf8');
  return undefined;
}

/**
 * A progress line on stderr that appears only when something takes longer than a second, and only
 * on a terminal. `stop()` clears it.
 */
export function spinner(
  label: string,
  stream: Pick<NodeJS.WriteStream, 'isTTY' | 'write'> = process.stderr,
): { stop(): void } {
  if (!stream.isTTY) return { stop() {} };
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let i = 0;
  let interval: NodeJS.Timeout | undefined;
  const delay = setTimeout(() => {
    interval = setInterval(() => stream.write(`\r${frames[i++ % frames.length]} ${label}`), 100);
  }, 1000);
  return {
    // Clears its own line once; a second stop (a stream calls it on every event) writes nothing, so
    // it never wipes the answer being printed on the same terminal.
    stop() {
      clearTimeout(delay);
      if (!interval) return;
      clearInterval(interval);
      interval = undefined;
      stream.write('\r\x1b[K');
    },
  };
}

/**
 * A string as it may reach the operator's terminal: control characters (an escape sequence that clears the screen
 * or writes the clipboard, a carriage return that hides what came before) shown as `?`.
 */
export function forTerminal(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/** Formats rows as an aligned text table (cells made safe for a terminal). */
export function table(headers: string[], cells: string[][]): string {
  const rows = cells.map((r) => r.map(forTerminal));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** Rows as an aligned plain-text table (no quotes, no index column), for people. */
export function printTable(rows: ReadonlyArray<Record<string, string | number>>): void {
  if (!rows.length) return;
  const columns = Object.keys(rows[0]!);
  const width = columns.map((c) => Math.max(c.length, ...rows.map((r) => forTerminal(String(r[c] ?? '')).length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(width[i]!))
      .join('  ')
      .trimEnd();
  console.log(line(columns.map((c) => c.toUpperCase())));
  for (const r of rows) console.log(line(columns.map((c) => forTerminal(String(r[c] ?? '')))));
}

/** Limits as a table cell: `rpm 60, concurrency 4`, or empty when none is set. */
export function limitsCell(limits: object): string {
  return Object.entries(limits)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([n, v]) => `${n} ${String(v)}`)
    .join(', ');
}
