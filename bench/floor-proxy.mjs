// The floor: a minimal pass-through proxy (node:http + undici), piping bodies without parsing them.
// Usage: node bench/floor-proxy.mjs UPSTREAM_URL  → prints "listening on http://127.0.0.1:PORT".
import { createServer } from 'node:http';
import { Pool } from 'undici';

const upstream = new URL(process.argv[2]);
// No cap on connections: every open stream needs its own (as in the gateway).
const pool = new Pool(upstream.origin, { connections: null, pipelining: 1 });
const server = createServer((req, res) => {
  const headers = { ...req.headers, host: upstream.host };
  delete headers.connection;
  pool
    .request({
      method: req.method,
      path: req.url,
      headers,
      body: req.method === 'GET' || req.method === 'HEAD' ? null : req,
    })
    .then(({ statusCode, headers: h, body }) => {
      delete h.connection;
      delete h['keep-alive'];
      delete h['transfer-encoding'];
      res.writeHead(statusCode, h);
      body.pipe(res);
    })
    .catch(() => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${server.address().port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
