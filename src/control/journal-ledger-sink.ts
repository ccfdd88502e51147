import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { UsageSink } from './usage-record.js';
import type { ControlStore, LedgerRow } from './control-store.js';
import { ledgerRowOf } from './ledger-columns.js';

const NAME = /^ledger-([0-9a-f]+)-(\d+)-(\d+)\.jsonl$/;
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

export interface JournaledLedgerSink extends UsageSink {
  /** Rows written to the journal and not yet to the store. */
  pending(): number;
  /** Why rows wait (the store unreachable), or undefined. */
  problem(): string | undefined;
  /** Tries to write what waits now (tests, shutdown). */
  drain(): Promise<void>;
  close(): Promise<void>;
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
  options: {
    flushMs?: number;
    batch?: number;
    onProblem?: (problem: string | undefined) => void;
    clock?: () => number;
  } = {},
): JournaledLedgerSink {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const instance = randomBytes(4).toString('hex');
  live.add(instance);
  const batch = options.batch ?? 1000;
  const clock = options.clock ?? Date.now;
  const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean).length;
  const sealed: Array<{ path: string; rows: number }> = orphans(dir).map((path) => ({ path, rows: lines(path) }));
  let seq = 0;
  let current: { path: string; fd: number; rows: number; bytes: number } | undefined;
  let problem: string | undefined;
  let failures = 0;
  let retryAt = 0;

  function seal(): void {
    if (!current) return;
    closeSync(current.fd);
    sealed.push({ path: current.path, rows: current.rows });
    current = undefined;
  }
  const pending = () => sealed.reduce((n, f) => n + f.rows, 0) + (current?.rows ?? 0);
  const say = (next: string | undefined) => {
    if (next === problem) return;
    problem = next;
    options.onProblem?.(next);
  };

  let draining: Promise<void> | undefined;
  async function drainOnce(): Promise<void> {
    // A new file per batch while the store keeps up; while it does not, one file grows (up to 64 MB).
    if (current && (sealed.length === 0 || current.bytes > 64 * 1024 * 1024)) seal();
    while (sealed.length) {
      const file = sealed[0]!;
      const rows: LedgerRow[] = [];
      let text: string;
      try {
        text = readFileSync(file.path, 'utf8');
      } catch (err) {
        // Gone (another process on this directory took it over): nothing of it is ours to write.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        sealed.shift();
        continue;
      }
      for (const line of text.split('\n')) {
        if (!line) continue;
        try {
          rows.push(JSON.parse(line) as LedgerRow);
        } catch {
          // the last line of a process killed in the middle of a write: its answer never ended
        }
      }
      try {
        for (let i = 0; i < rows.length; i += batch) await store.appendLedger(rows.slice(i, i + batch));
      } catch (err) {
        failures++;
        retryAt = clock() + Math.min(5000, 250 * 2 ** Math.min(failures, 5));
        say(
          `ledger: ${pending()} rows wait in ${dir} (the store cannot be written: ${(err as Error).message}); they ` +
            `are written when it is back`,
        );
        return;
      }
      unlinkSync(file.path);
      sealed.shift();
      failures = 0;
    }
    say(undefined);
  }
  function drain(): Promise<void> {
    draining ??= drainOnce().finally(() => {
      draining = undefined;
    });
    return draining;
  }
  const timer = setInterval(() => {
    if (clock() >= retryAt) void drain();
  }, options.flushMs ?? 200);
  timer.unref();
  if (sealed.length) void drain();

  return {
    record(u) {
      if (!u.metered) return;
      if (!current) {
        const path = join(dir, `ledger-${instance}-${process.pid}-${String(++seq).padStart(6, '0')}.jsonl`);
        current = { path, fd: openSync(path, 'a', 0o600), rows: 0, bytes: 0 };
      }
      const line = `${JSON.stringify(ledgerRowOf(u))}\n`;
      current.bytes += writeSync(current.fd, line);
      current.rows++;
    },
    pending,
    problem: () => problem,
    drain,
    async close() {
      clearInterval(timer);
      await draining;
      seal();
      await drain();
      live.delete(instance);
    },
  };
}
