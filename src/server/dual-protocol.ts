import {
  createServer as createHttp1Server,
  type IncomingMessage,
  type ServerOptions,
  type ServerResponse,
} from 'node:http';
import {
  createServer as createHttp2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type ServerHttp2Session,
} from 'node:http2';
import { once } from 'node:events';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { ConnectionGuard, defaultMaxConnections, type Connection } from './connection-guard.js';

export type AnyRequest = IncomingMessage | Http2ServerRequest;
export type AnyResponse = ServerResponse | Http2ServerResponse;

/** Whether the response can no longer be written (client gone, stream reset). */
export function isGone(res: AnyResponse): boolean {
  if ('stream' in res && res.stream) return res.stream.destroyed || res.stream.closed;
  return (res as ServerResponse).destroyed;
}

/** Drops a response without an answer: a connection reset on HTTP/1.1, a stream reset on HTTP/2. */
export function dropResponse(res: AnyResponse): void {
  if ('stream' in res && res.stream) res.stream.close(2);
  else (res as ServerResponse).destroy();
}

/**
 * One TCP port that speaks HTTP/1.1 and cleartext HTTP/2 with prior knowledge (h2c): the AWS SDK
 * for JavaScript talks HTTP/2 to Bedrock Runtime, curl and most clients HTTP/1.1. The first bytes
 * decide: HTTP/2 starts with the `PRI * HTTP/2.0` preface. The guard bounds the connections of both
 * (node's HTTP/1.1 server never listens here, so its own header timeout never runs).
 */
export function createDualProtocolServer(
  handler: (req: AnyRequest, res: AnyResponse) => void,
  http1Options: ServerOptions = {},
  guard = new ConnectionGuard({
    maxConnections: defaultMaxConnections(),
    maxConnectionsPerAddress: 0,
    headersTimeoutMs: 30_000,
    keepAliveMs: 65_000,
  }),
) {
  const bySocket = new WeakMap<object, Connection>();
  let opening: Connection | undefined;
  const tracked = (req: AnyRequest, res: AnyResponse) => {
    const conn = bySocket.get('stream' in req ? (req.stream.session ?? req) : req.socket);
    if (conn) {
      guard.begin(conn);
      res.once('close', () => guard.end(conn));
    }
    handler(req, res);
  };
  const http1 = createHttp1Server(http1Options, tracked);
  const http2 = createHttp2Server({}, tracked);
  http2.on('session', (session: ServerHttp2Session) => {
    const conn = opening;
    if (!conn) return;
    bySocket.set(session, conn);
    conn.close = () => closeSession(session);
  });
  const sockets = new Set<Socket>();
  // noDelay: net servers default to Nagle on (http.createServer turns it off); streamed events must not wait for ACKs.
  const server: Server = createTcpServer({ noDelay: true, keepAlive: true }, (socket: Socket) => {
    const conn = guard.admit(socket);
    if (!conn) return;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.once('data', (first: Buffer) => {
      socket.pause();
      if (first.subarray(0, 3).toString('latin1') === 'PRI') {
        // The HTTP/2 session reads the socket's handle directly, past any unshift: hand it a stream that replays the
        // first bytes.
        opening = conn;
        http2.emit('connection', replay(socket, first));
        opening = undefined;
      } else {
        socket.unshift(first);
        bySocket.set(socket, conn);
        http1.emit('connection', socket);
      }
      socket.resume();
    });
  });
  return { server, http1, http2, sockets };
}

/** Closes an idle h2 session: GOAWAY, then the socket; a peer that never reads is cut after a second. */
function closeSession(session: ServerHttp2Session): void {
  session.close();
  setTimeout(() => session.destroy(), 1000).unref();
}

function replay(socket: Socket, first: Buffer): Duplex {
  const duplex = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      socket.write(chunk, cb);
    },
    final(cb) {
      socket.end(cb);
    },
    destroy(err, cb) {
      socket.destroy(err ?? undefined);
      cb(err);
    },
  });
  duplex.push(first);
  socket.on('data', (d: Buffer) => {
    if (!duplex.push(d)) socket.pause();
  });
  socket.on('end', () => duplex.push(null));
  socket.on('close', () => duplex.destroy());
  socket.on('error', (e) => duplex.destroy(e));
  return duplex;
}

/** Listens (port 0 picks a free one) and answers the bound port and the URL to reach it. */
export async function listen(server: Server, host: string, port: number): Promise<{ port: number; url: string }> {
  server.listen(port, host);
  await once(server, 'listening');
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : 0;
  return { port: bound, url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}` };
}
