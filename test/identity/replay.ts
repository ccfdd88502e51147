/** The reference gateway's captured exchanges (test/fixtures/claude-gateway/replay), sent again as they were sent. */
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

export const REPLAY_DIR = join(import.meta.dirname, '..', 'fixtures', 'claude-gateway', 'replay');

export interface Exchange {
  name: string;
  method: string;
  path: string;
  headers: Array<[string, string]>;
  body: string;
  /** What the reference answered: status, headers (lower-case names), body. */
  reference: { status: number; headers: Record<string, string>; body: string };
}

function parseResponse(text: string): Exchange['reference'] {
  const at = text.search(/\r?\n\r?\n/);
  const head = (at < 0 ? text : text.slice(0, at)).split(/\r?\n/);
  const body = at < 0 ? '' : text.slice(at).replace(/^\r?\n\r?\n/, '');
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const c = line.indexOf(':');
    if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
  }
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head[0]!)![1]), headers, body };
}

/** Every captured exchange, in order. */
export function exchanges(): Exchange[] {
  return readdirSync(REPLAY_DIR)
    .filter((f) => f.endsWith('.req'))
    .sort()
    .map((f) => {
      const name = f.slice(0, -4);
      const req = readFileSync(join(REPLAY_DIR, f), 'utf8');
      const at = req.indexOf('\n\n');
      const lines = (at < 0 ? req : req.slice(0, at)).split('\n').filter(Boolean);
      const [method, path] = lines[0]!.split(' ') as [string, string];
      const headers = lines.slice(1).map((l): [string, string] => {
        const c = l.indexOf(':');
        return [l.slice(0, c).trim(), l.slice(c + 1).trim()];
      });
      const body = at < 0 ? '' : req.slice(at + 2).replace(/\n$/, '');
      return {
        name,
        method,
        path,
        headers,
        body,
        reference: parseResponse(readFileSync(join(REPLAY_DIR, `${name}.http`), 'latin1')),
      };
    });
}

/**
 * Sends an exchange's request over a socket of its own, byte for byte as captured (a declared length larger than the
 * body, a chunked body), and reads the answer until the server closes or answers.
 */
export function send(base: string, x: Exchange, bearer?: string): Promise<Exchange['reference']> {
  const url = new URL(base);
  const headers = x.headers.map(([k, v]): [string, string] =>
    bearer && k.toLowerCase() === 'authorization' ? [k, `Bearer ${bearer}`] : [k, v],
  );
  const has = (name: string) => headers.some(([k]) => k.toLowerCase() === name);
  const chunked = headers.some(([k, v]) => k.toLowerCase() === 'transfer-encoding' && /chunked/i.test(v));
  let body = x.body;
  if (chunked) body = `${Buffer.byteLength(x.body).toString(16)}\r\n${x.body}\r\n0\r\n\r\n`;
  else if (!has('content-length') && (x.body || x.method === 'POST'))
    headers.push(['Content-Length', String(Buffer.byteLength(x.body))]);
  const head = [`${x.method} ${x.path} HTTP/1.1`, `Host: ${url.host}`, 'Connection: close']
    .concat(headers.map(([k, v]) => `${k}: ${v}`))
    .join('\r\n');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(url.port), url.hostname, () => socket.write(`${head}\r\n\r\n${body}`));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => (chunks.length ? undefined : reject(err)));
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const answer = parseResponse(text);
      // A chunked answer's body, joined.
      if (/chunked/i.test(answer.headers['transfer-encoding'] ?? ''))
        answer.body = answer.body.replace(/(^|\r\n)[0-9a-f]+\r\n/gi, '').replace(/\r\n$/, '');
      resolve(answer);
    });
  });
}
