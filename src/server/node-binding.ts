import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { Abort } from '../transport/abort.js';
import { BedrockClaudeError } from '../errors.js';
import type { Exchange } from './app.js';
import { dropResponse, isGone, type AnyRequest, type AnyResponse } from './dual-protocol.js';
import { pipeStream, readBody } from './http-util.js';
import type { Duplex } from 'node:stream';
import type { GatewayRequest, Reply } from './pipeline.js';
import { newUsageRecord, type UsageRecord } from '../control/usage-record.js';

/**
 * Writes an answer: bytes with their length, or a stream as it comes, with backpressure.
 * `beforeEnd` runs just before the last bytes go (the usage record, so that the ledger has every
 * answer a client saw end, even if the process is killed right after).
 */
export async function writeReply(
  res: AnyResponse,
  reply: Reply,
  beforeEnd?: () => Promise<void> | undefined | void,
): Promise<void> {
  if (isGone(res)) return;
  if (reply.drop) return dropResponse(res);
  const out = res as ServerResponse;
  const body = reply.body;
  if (body === undefined || typeof body === 'string' || body instanceof Uint8Array) {
    reply.headers['content-length'] = String(
      body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.length,
    );
    const durable = beforeEnd?.();
    if (durable) await durable;
    if (isGone(res)) return;
    out.writeHead(reply.status, reply.headers);
    out.end(body);
    return;
  }
  // No flushHeaders(): the headers go out with the first bytes (a separate header packet cost ~2 ms of TTFB).
  out.writeHead(reply.status, reply.headers);
  await pipeStream(res, body, beforeEnd);
}

/**
 * The node:http (and h2c) handler for an app: the request as a `GatewayRequest` (its body read on
 * demand, an abort signal that fires when the client goes away), the answer written back, then
 * `finish` with whether the client left before the end.
 */
export function nodeHandler(
  handle: (req: GatewayRequest) => Promise<Exchange>,
  logger: Logger | undefined,
  hooks: { started(): void; ended(): void },
  bodyIdleMs = 0,
) {
  return (req: AnyRequest, res: AnyResponse): void => {
    hooks.started();
    const signal = new Abort();
    const onClose = () => {
      if (!res.writableEnded) signal.abort(new Error('client closed the connection'));
    };
    res.on('close', onClose);
    const request: GatewayRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      signal,
      remoteAddress: req.socket?.remoteAddress,
      body: (limit) =>
        readBody(req, limit, bodyIdleMs).catch((err: unknown) => {
          if (err instanceof BedrockClaudeError && err.status === 408) closeAfterAnswer(req, res);
          throw err;
        }),
    };
    handle(request)
      .then(async (exchange) => {
        let finished = false;
        const finish = (gone: boolean) => {
          if (finished) return undefined;
          finished = true;
          return exchange.finish(gone);
        };
        try {
          await writeReply(res, exchange.reply, () => finish(false));
        } catch (err) {
          logger?.error({ err }, 'unexpected error while writing an answer');
          dropResponse(res);
        }
        finish(isGone(res) && !res.writableFinished);
      })
      .catch((err: unknown) => {
        logger?.error({ err }, 'unexpected error');
        dropResponse(res);
      })
      .finally(() => {
        res.off('close', onClose);
        hooks.ended();
      });
  };
}

/**
 * The body was left unread: the answer closes the connection (HTTP/1.1), or (h2) the stream is reset
 * with NO_ERROR a second after the answer was handed over (RFC 9113 8.1; nghttp2 sends a reset before
 * queued DATA, so at once would lose the answer), so that the rest of the body is never waited for.
 */
function closeAfterAnswer(req: AnyRequest, res: AnyResponse): void {
  if (!('stream' in req)) return void ((res as ServerResponse).shouldKeepAlive = false);
  const stream = req.stream;
  stream.once('finish', () => setTimeout(() => stream.closed || stream.close(), 1000).unref());
}

/**
 * Answers a request node's parser refused (oversized headers, bad framing) in the Anthropic shape,
 * and says what it was for the metrics.
 */
export function answerMalformed(err: NodeJS.ErrnoException, socket: Duplex): UsageRecord {
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? 431 : 400;
  const usage = newUsageRecord('?', 'anthropic', 'other', '?', Date.now());
  usage.status = status;
  usage.error = 'invalid_request_error';
  if (!socket.writable) {
    socket.destroy();
    return usage;
  }
  const body = JSON.stringify({
    type: 'error',
    error: {
      type: 'invalid_request_error',
      message: tooLarge ? 'Request headers are too large.' : `Malformed HTTP request (${err.code ?? 'parse error'}).`,
    },
  });
  socket.end(
    `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\ncontent-type: ` +
      `application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
  return usage;
}
