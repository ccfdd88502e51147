// Two gateway processes on one PostgreSQL and one Redis, each reached through a TCP proxy the test
// can cut (an outage, without stopping servers other tests use), each on its built-in emulator.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { tempHome } from '../helpers.js';

/** A TCP proxy to `target` that can be cut: every connection dropped, new ones refused, until `restore`. */
export async function startProxy(
  target: string,
): Promise<{ url: string; cut(): void; restore(): void; close(): Promise<void> }> {
  const t = new URL(target);
  const sockets = new Set<Socket>();
  let down = false;
  const server: Server = createServer((client) => {
    if (down) return client.destroy();
    const upstream = connect(Number(t.port), t.hostname);
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const url = new URL(target);
  url.host = `127.0.0.1:${port}`;
  return {
    url: url.toString(),
    cut() {
      down = true;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    restore: () => void (down = false),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export interface Replica {
  name: string;
  url: string;
  child: ChildProcess;
  dataDir: string;
  /** Everything it wrote to stderr (the log). */
  log(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export const ADMIN_KEY = 'replicas-admin-key-0123456789abcdef';

/**
 * Starts `node dist/cli/main.js serve --emulator` with a config file naming the store and the
 * counters (PostgreSQL and Redis), or, with `embedded`, on the embedded store in its data directory.
 */
export async function startReplica(
  name: string,
  config:
    | { store: string; redis: string; prefix: string; failMode: 'failClosed' | 'failOpen'; dataDir?: string }
    | { embedded: true; dataDir?: string },
): Promise<Replica> {
  const home = tempHome();
  const dataDir = config.dataDir ?? join(home, 'data');
  const file = join(home, 'gateway.yaml');
  const shared =
    'embedded' in config
      ? ''
      : `store: ${JSON.stringify(config.store)}\ncounters:\n  url: ${JSON.stringify(config.redis)}\n  failMode: ` +
        `${config.failMode}\n  prefix: ${JSON.stringify(config.prefix)}\n`;
  writeFileSync(file, `${shared}dataDir: ${JSON.stringify(dataDir)}\n`);
  const env = {
    PATH: process.env['PATH'] ?? '',
    HOME: home,
    AWS_EC2_METADATA_DISABLED: 'true',
    BEDROCK_CLAUDE_ADMIN_KEY: ADMIN_KEY,
  };
  const child = spawn(process.execPath, ['dist/cli/main.js', 'serve', '--emulator', '--port', '0', '--config', file], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => void (err += c.toString()));
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`replica ${name} did not start: ${err}`)), 20_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/[0-9.:]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`replica ${name} exited (${code}): ${err}`)));
  });
  return {
    name,
    url,
    child,
    dataDir,
    log: () => err,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill(signal);
      await exited;
    },
  };
}

/** One model call: its status, request id, and whether its answer came to its end. */
export async function callModel(
  base: string,
  key: string,
  opts: { stream?: boolean; maxTokens?: number; prompt?: string; model?: string } = {},
): Promise<{ status: number; id: string; complete: boolean; type?: string }> {
  try {
    const res = await request(`${base}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({
        model: opts.model ?? 'claude-haiku-4-5',
        max_tokens: opts.maxTokens ?? 50,
        stream: opts.stream ?? false,
        messages: [{ role: 'user', content: opts.prompt ?? 'hello there' }],
      }),
    });
    const text = await res.body.text();
    const id = String(res.headers['request-id'] ?? '');
    const complete =
      res.statusCode === 200 && (opts.stream ? text.includes('event: message_stop') : text.includes('"stop_reason"'));
    let type: string | undefined;
    if (res.statusCode >= 400) type = (JSON.parse(text) as { error?: { type?: string } }).error?.type;
    return { status: res.statusCode, id, complete, ...(type ? { type } : {}) };
  } catch {
    return { status: 0, id: '', complete: false };
  }
}

/** Calls an admin route of a replica. */
export async function admin(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await request(`${base}${path}`, {
    method: method as 'GET',
    headers: { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

/** A value of the replica's /metrics. */
export async function metric(base: string, name: string): Promise<number | undefined> {
  const text = await (await request(`${base}/metrics`)).body.text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Waits until `check` holds, polling every `everyMs`, for at most `maxMs`; answers whether it held. */
export async function until(check: () => Promise<boolean> | boolean, maxMs: number, everyMs = 50): Promise<boolean> {
  const end = Date.now() + maxMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Runs `concurrency` workers calling `call` until `stop()` says so (or `max` calls in all). */
export async function load<T>(
  concurrency: number,
  max: number,
  call: (i: number) => Promise<T>,
  stop: () => boolean = () => false,
): Promise<T[]> {
  return startLoad(concurrency, max, call, stop).done;
}

/**
 * Load that the test steers by events, not by time: `after(n)` resolves once n more calls have
 * completed (a phase of an outage is "50 more answers", not "2 seconds"), `stop()` ends it.
 */
export function startLoad<T>(
  concurrency: number,
  max: number,
  call: (i: number) => Promise<T>,
  stop: () => boolean = () => false,
) {
  const out: T[] = [];
  let next = 0;
  let stopped = false;
  const waiters: Array<{ at: number; resolve: () => void }> = [];
  const done = Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < max && !stopped && !stop()) {
        out.push(await call(next++));
        for (const w of waiters.filter((x) => out.length >= x.at)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    }),
  ).then(() => {
    for (const w of waiters.splice(0)) w.resolve(); // the load ended: nobody waits for ever
    return out;
  });
  return {
    done,
    completed: () => out.length,
    /** Resolves once `n` more calls than now have completed (or the load has ended). */
    after(n: number): Promise<void> {
      const at = out.length + n;
      return new Promise<void>((resolve) => waiters.push({ at, resolve }));
    },
    stop(): Promise<T[]> {
      stopped = true;
      return done;
    },
  };
}
