import {
  createServer as createHttp1Server,
  type IncomingMessage,
  type ServerOptions,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttp2Server, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { once } from 'node:events';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { Duplex } from 'node:stream';

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
 * decide: HTTP/2 starts with the `PRI * HTTP/2.0` preface.
 */
export function createDualProtocolServer(
  handler: (req: AnyRequest, res: AnyResponse) => void,
  http1Options: ServerOptions = {},
) {
  const http1 = createHttp1Server(http1Options, handler);
  const http2 = createHttp2Server({}, handler);
  const sockets = new Set<Socket>();
  // noDelay: net servers default to Nagle on (http.createServer turns it off); streamed events must not wait for ACKs.
  const server: Server = createTcpServer({ noDelay: true, keepAlive: true }, (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.once('data', (first: Buffer) => {
      socket.pause();
      if (first.subarray(0, 3).toString('latin1') === 'PRI') {
        // The HTTP/2 session reads the socket's handle directly, past any unshift: hand it a stream that replays the
        // first bytes.
        http2.emit('connection', replay(socket, first));
      } else {
        socket.unshift(first);
        http1.emit('connection', socket);
      }
      socket.resume();
    });
  });
  return { server, http1, http2, sockets };
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
