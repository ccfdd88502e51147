// Preload for bench/stages.mjs: `node --import ./bench/stage-probe.mjs ...` with STAGE_LOG set.
// Records when each request reached a stage in this process, as epoch milliseconds comparable
// across processes, and appends one JSON line per request to $STAGE_LOG once the answer is sent:
//   arrived   the request's head was parsed (diagnostics_channel http.server.request.start)
//   sent      the upstream request's head was written (undici:client:sendHeaders)
//   answered  the upstream answer's head was parsed (undici:request:headers)
//   wrote     the first write (or end) of this process's own answer
// It reads only timestamps, never a body or a header. The stages bench sends one request at a
// time, so "the request being handled" is the last one that arrived.
import dc from 'node:diagnostics_channel';
import fs from 'node:fs';
import http from 'node:http';

const file = process.env.STAGE_LOG;
const now = () => performance.timeOrigin + performance.now();
const stages = new WeakMap();
let current;

if (file) {
  dc.subscribe('http.server.request.start', ({ response }) => {
    const s = { arrived: now() };
    current = s;
    stages.set(response, s);
    response.once('finish', () => setImmediate(() => fs.appendFileSync(file, JSON.stringify(s) + '\n')));
  });
  dc.subscribe('undici:client:sendHeaders', () => {
    if (current && current.sent === undefined) current.sent = now();
  });
  dc.subscribe('undici:request:headers', () => {
    if (current && current.answered === undefined) current.answered = now();
  });
  for (const method of ['write', 'end']) {
    const original = http.ServerResponse.prototype[method];
    http.ServerResponse.prototype[method] = function (...args) {
      const s = stages.get(this);
      if (s && s.wrote === undefined) s.wrote = now();
      return original.apply(this, args);
    };
  }
}
