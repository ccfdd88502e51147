import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { keptInLedger, type UsageSink } from './usage-record.js';
import type { ControlStore, LedgerRow } from './control-store.js';
import { ledgerRowOf } from './ledger-columns.js';

const NAME = /^ledger-([0-9a-f]+)-(\d+)-(\d+)\.jsonl$/;
/** What is said while the journal cannot be written. */
const unwritable = (dir: string, err: Error, lost: number) =>
  `ledger: the journal in ${dir} cannot be written (${err.message}); up to ${MAX_UNWRITTEN} rows are kept in ` +
  `memory until it can${lost ? ` (${lost} older ones were let go)` : ''}`;

/** Rows kept in memory while the journal cannot be written (a full disk); older ones beyond it are let go. */
const MAX_UNWRITTEN = 100_000;

/** The journals of the sinks open in this process (a second gateway in the same process must not take them). */
const live = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Journal files left by a process that is gone (a kill -9, a crash, a pod restarted): ours to replay. */
function orphans(dir: string): string[] {
  const found: Array<{ path: string; at: number }> = [];
  for (const name of readdirSync(dir)) {
    const m = NAME.exec(name);
    if (!m || live.has(m[1]!)) continue;
    const pid = Number(m[2]);
    // Another live process on this directory keeps its own; a file with our pid is a previous life's (pid 1 in a
    // container).
    if (pid !== process.pid && alive(pid)) continue;
    const path = join(dir, name);
    found.push({ path, at: statSync(path).mtimeMs });
  }
  return found.sort((a, b) => a.at - b.at).map((f) => f.path);
}

/** A journal's rows, or undefined when the file is gone. */
function readJournal(path: string): LedgerRow[] | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return undefined;
  }
  const rows: LedgerRow[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      rows.push(JSON.parse(line) as LedgerRow);
    } catch {
      // the last line of a process killed in the middle of a write: its answer never ended
    }
  }
  return rows;
}

export interface JournaledLedgerSink extends UsageSink {
  /** Rows written to the journal and not yet to the store. */
  pending(): number;
  /** Why rows wait (the store unreachable), or undefined. */
  problem(): string | undefined;
  /** Tries to write what waits now (tests, shutdown). */
  drain(): Promise<void>;
  close(): Promise<void>;
}

export interface JournalSinkOptions {
  flushMs?: number;
  batch?: number;
  onProblem?: (problem: string | undefined) => void;
  clock?: () => number;
}

/**
 * `run`, one at a time. A call while one runs gets one more run after it: the running one took only what was there
 * when it began, so a caller's drain always covers the rows appended before it asked.
 */
function oneAtATime(run: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  let again: Promise<void> | undefined;
  const call = (): Promise<void> => {
    if (!running) return (running = run().finally(() => (running = undefined)));
    return (again ??= running.then(() => {
      again = undefined;
      return call();
    }));
  };
  return call;
}

/**
 * The ledger for a store across the network (PostgreSQL): each row is appended to a journal file in
 * the data directory as its answer ends (one small write; a kill -9 of the process loses nothing
 * the kernel has), and the journal goes to the store in batches (every `flushMs`, up to `batch`
 * rows a statement). A file is deleted once the store has it all. When the store cannot be reached,
 * rows keep going to the journal (the spool) and are replayed, oldest first, when it is back; files
 * left by a process that died are replayed at start-up. The store skips request ids it already
 * has, so a replay writes nothing twice.
 */
export function createJournaledLedgerSink(
  store: Pick<ControlStore, 'appendLedger'>,
  dir: string,
  options: JournalSinkOptions = {},
): JournaledLedgerSink {
  const journal = new Journal(dir, (err, lost) => say(unwritable(dir, err, lost)));
  const batch = options.batch ?? 1000;
  const clock = options.clock ?? Date.now;
  let problem: string | undefined;
  let failures = 0;
  let retryAt = 0;
  const say = (next: string | undefined) => {
    if (next === problem) return;
    problem = next;
    options.onProblem?.(next);
  };

  async function drainOnce(): Promise<void> {
    journal.write(); // what this turn appended, first
    journal.rollIfDue();
    for (let file = journal.oldest(); file; file = journal.oldest()) {
      try {
        await writeFile(store, file.path, batch);
      } catch (err) {
        retryAt = clock() + Math.min(5000, 250 * 2 ** Math.min(++failures, 5));
        say(
          `ledger: ${journal.pending()} rows wait in ${dir} (the store cannot be written: ` +
            `${(err as Error).message}); they are written when it is back`,
        );
        return;
      }
      journal.done(file);
      failures = 0;
    }
    say(undefined);
  }
  const drain = oneAtATime(drainOnce);
  const timer = setInterval(() => {
    if (clock() >= retryAt) void drain();
  }, options.flushMs ?? 200);
  timer.unref();
  if (journal.oldest()) void drain();

  return {
    record(u) {
      return keptInLedger(u) ? journal.append(ledgerRowOf(u)) : undefined;
    },
    pending: () => journal.pending(),
    problem: () => problem,
    drain,
    async close() {
      clearInterval(timer);
      await drain();
      journal.seal();
      await drain();
      journal.close();
    },
  };
}

/** A journal file's rows to the store, `batch` a statement (none when the file is gone: another process took it). */
async function writeFile(store: Pick<ControlStore, 'appendLedger'>, path: string, batch: number): Promise<void> {
  const rows = readJournal(path) ?? [];
  for (let i = 0; i < rows.length; i += batch) await store.appendLedger(rows.slice(i, i + batch));
}

/** The journal files of one sink: the one being written, and those sealed (oldest first) waiting for the store. */
class Journal {
  private readonly instance = randomBytes(4).toString('hex');
  private readonly sealed: Array<{ path: string; rows: number }>;
  private current: { path: string; fd: number; rows: number; bytes: number } | undefined;
  private seq = 0;

  constructor(
    private readonly dir: string,
    private readonly onWriteError: (err: Error, lost: number) => void,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    live.add(this.instance);
    const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean).length;
    this.sealed = orphans(dir).map((path) => ({ path, rows: lines(path) }));
  }

  /** Lines appended in this turn of the event loop, written together at its end (a group commit). */
  private lines: string[] = [];
  private written: { promise: Promise<void>; resolve: () => void } | undefined;

  /**
   * A row, written with the others of this turn of the event loop in one write at its end: a kill -9 of
   * the process then loses nothing the kernel has. The promise settles once it is written; an answer's
   * last bytes wait for it.
   */
  append(row: LedgerRow): Promise<void> {
    this.lines.push(`${JSON.stringify(row)}\n`);
    if (!this.written) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.written = { promise, resolve };
      setImmediate(() => this.write());
    }
    return this.written.promise;
  }

  /** Writes what this turn appended. A failure (a full disk) keeps the lines for the next turn and is said. */
  write(): void {
    const done = this.written;
    this.written = undefined;
    if (!this.lines.length) return done?.resolve();
    try {
      if (!this.current) {
        const path = join(
          this.dir,
          `ledger-${this.instance}-${process.pid}-${String(++this.seq).padStart(6, '0')}.jsonl`,
        );
        this.current = { path, fd: openSync(path, 'a', 0o600), rows: 0, bytes: 0 };
      }
      this.current.bytes += writeSync(this.current.fd, this.lines.join(''));
      this.current.rows += this.lines.length;
      this.lines = [];
    } catch (err) {
      // Kept for the next turn, up to a bound: a disk that stays full must not fill the memory too.
      const lost = this.lines.length - MAX_UNWRITTEN;
      if (lost > 0) this.lines.splice(0, lost);
      this.onWriteError(err as Error, Math.max(0, lost));
    }
    done?.resolve(); // an answer is never held back by a journal that cannot be written
  }

  seal(): void {
    this.write();
    if (!this.current) return;
    closeSync(this.current.fd);
    this.sealed.push({ path: this.current.path, rows: this.current.rows });
    this.current = undefined;
  }

  /** A new file per batch while the store keeps up; while it does not, one file grows (up to 64 MB). */
  rollIfDue(): void {
    if (this.current && (this.sealed.length === 0 || this.current.bytes > 64 * 1024 * 1024)) this.seal();
  }

  oldest(): { path: string; rows: number } | undefined {
    return this.sealed[0];
  }

  /** The store has the oldest file's rows: it goes. */
  done(file: { path: string }): void {
    try {
      unlinkSync(file.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.sealed.shift();
  }

  pending(): number {
    return this.sealed.reduce((n, f) => n + f.rows, 0) + (this.current?.rows ?? 0) + this.lines.length;
  }

  close(): void {
    live.delete(this.instance);
  }
}
