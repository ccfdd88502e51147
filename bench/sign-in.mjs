// npm run bench:sign-in [-- --quick]: a signed-in person's bearer token against a key, on the same gateway in the
// same run. One gateway (a data directory, sign-in through an OpenID Connect provider on 127.0.0.1) on the emulator;
// small requests at concurrency 64, the two targets interleaved in each round: "key" (x-api-key, a key without
// limits, budget or team) and "bearer" (Authorization: Bearer with the gateway's own token for a person without
// limits, budget or team). Goal: the bearer within 5% of the key in throughput and CPU per request.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import Provider from 'oidc-provider';
import { load } from './gateway.mjs';
import { EMULATOR_ENV, median, MODEL, round, SMALL, startProcess, stopProcess } from './lib.mjs';
import { keyId } from '../dist/identity/tokens.js';

const quick = process.argv.includes('--quick');
const duration = quick ? 3 : 8;
const rounds = quick ? 2 : 5;
const env = EMULATOR_ENV;
const SECRET = 'a-bench-jwt-secret-of-more-than-32-characters';
const CLIENT = 'bedrock-claude-bench';

/** An OpenID Connect provider on 127.0.0.1 (the gateway reads its discovery at start-up; no one signs in here). */
async function startProvider() {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{ client_id: CLIENT, client_secret: 'bench-secret', redirect_uris: [`${issuer}/cb`] }],
  });
  server.on('request', provider.callback());
  return { issuer, close: () => new Promise((r) => (server.closeAllConnections(), server.close(r))) };
}

/** The gateway's own token for a person, as its token endpoint would mint it (same secret, issuer, audience). */
async function tokenFor(gatewayUrl) {
  const iat = Math.floor(Date.now() / 1000);
  return new SignJWT({ email: 'bench@example.com', groups: [], iat_ms: Date.now() })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: keyId(SECRET) })
    .setSubject('u-bench')
    .setAudience(CLIENT)
    .setIssuer(gatewayUrl)
    .setIssuedAt(iat)
    .setJti('bench')
    .setExpirationTime(iat + 3600)
    .sign(new TextEncoder().encode(SECRET));
}

const procs = [];
const provider = await startProvider();
try {
  const emulator = await startProcess('emulator', ['dist/cli/main.js', 'emulator', '--port', '0'], { env });
  procs.push(emulator);
  const dir = mkdtempSync(join(tmpdir(), 'bedrock-claude-bench-sign-in-'));
  const dataDir = join(dir, 'data');
  const cli = (...args) =>
    execFileSync(process.execPath, ['dist/cli/main.js', ...args, '--data-dir', dataDir], { env, encoding: 'utf8' });
  const { key } = JSON.parse(cli('keys', 'create', 'bench-key', '--json'));
  const config = join(dir, 'gateway.yaml');
  writeFileSync(
    config,
    `identity:\n  oidc:\n    issuer: ${provider.issuer}\n    clientId: ${CLIENT}\n    clientSecret: bench-secret\n` +
      `  session:\n    jwtSecret: ${SECRET}\n`,
  );
  const gw = await startProcess(
    'gateway',
    [
      'dist/cli/main.js',
      'serve',
      '--config',
      config,
      '--data-dir',
      dataDir,
      '--port',
      '0',
      '--bedrock-endpoint',
      emulator.url,
    ],
    { env },
  );
  procs.push(gw);
  const body = JSON.stringify({ model: MODEL, ...SMALL });
  const headers = (auth) => Object.assign({ 'content-type': 'application/json' }, auth);
  const targets = [
    {
      name: 'key',
      url: gw.url,
      pid: gw.pid,
      req: { method: 'POST', path: '/v1/messages', headers: headers({ 'x-api-key': key }), body },
    },
    {
      name: 'bearer',
      url: gw.url,
      pid: gw.pid,
      req: {
        method: 'POST',
        path: '/v1/messages',
        headers: headers({ authorization: `Bearer ${await tokenFor(gw.url)}` }),
        body,
      },
    },
  ];
  for (const t of targets) await load(t, t.req, 8, quick ? 2 : 5);
  const results = Object.fromEntries(targets.map((t) => [t.name, []]));
  for (let r = 0; r < rounds; r++)
    for (const t of r % 2 ? [...targets].reverse() : targets) results[t.name].push(await load(t, t.req, 64, duration));
  const m = (name, field) => median(results[name].map((x) => x[field]));
  const side = (name) => ({
    rps: round(m(name, 'rps'), 0),
    cpuMsPerReq: round(m(name, 'cpuPerReq'), 4),
    p99Ms: round(m(name, 'p99'), 2),
  });
  const out = {
    date: new Date().toISOString(),
    node: process.version,
    quick,
    rounds,
    secondsPerLoad: duration,
    c64: {
      key: side('key'),
      bearer: side('bearer'),
      rpsRatio: round(m('bearer', 'rps') / m('key', 'rps'), 3),
      cpuRatio: round(m('bearer', 'cpuPerReq') / m('key', 'cpuPerReq'), 3),
    },
    goals: { rpsRatio: '>= 0.95', cpuRatio: '<= 1.05' },
  };
  console.log(JSON.stringify(out, null, 2));
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/sign-in.json', JSON.stringify(out, null, 2));
} finally {
  for (const p of procs.reverse()) await stopProcess(p);
  await provider.close();
}
