/**
 * A real Claude Code (`@anthropic-ai/claude-code`) signs in to bedrock-claude through its own `/login` ("Cloud
 * gateway"), as a developer's machine would: its managed-settings file (in a private mount namespace's /etc, the
 * machine's never written) points it at the gateway; the trust prompt is answered through a pseudo-terminal; the
 * browser leg is done with HTTP calls against a real OpenID Connect provider. Then `claude -p` works through the
 * gateway with the token it got, and the ledger has the call as the person's, and `/usage` in the interactive client
 * shows her spend against her weekly cap (Claude Code 2.1.332 asks `/api/oauth/usage`; 2.1.197 did not). Needs root
 * (mount namespace) and python3.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { openSqliteControlStore } from '../../src/control/sqlite-store.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import type { RunningGateway } from '../../src/server/gateway.js';
import { gatewayOn, tempHome } from '../helpers.js';
import { approveInBrowser } from './browser.js';
import { freePort, oidcConfigFor, startIdp, type RunningIdp } from './idp.js';

const canNamespace =
  process.getuid?.() === 0 &&
  spawnSync('unshare', ['--mount', 'true']).status === 0 &&
  spawnSync('python3', ['-V']).status === 0;
const skip = canNamespace ? undefined : 'needs root, unshare and python3 (a private mount namespace for /etc)';

let emu: RunningEmulator;
let idp: RunningIdp;
let gw: RunningGateway;
const dataDir = tempHome();
const root = tempHome();
const dirs = {
  home: join(root, 'home'),
  work: join(root, 'work'),
  managed: join(root, 'managed'),
  ovl: join(root, 'ovl'),
};

before(async () => {
  if (skip) return;
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  emu = await startEmulator({ port: 0 });
  const port = await freePort();
  idp = await startIdp(`http://127.0.0.1:${port}/oauth/callback`);
  gw = await gatewayOn(emu.url, {
    port,
    dataDir,
    identity: {
      oidc: oidcConfigFor(idp),
      session: { jwtSecret: 'a-jwt-secret-for-the-claude-code-login-test', ttlHours: 1 },
      managed: { policies: [{ match: {}, settings: { permissions: { deny: ['WebFetch'] } } }] },
      people: { budget: { usd: 200, period: 'week' } },
    },
  });
  writeFileSync(
    join(dirs.managed, 'managed-settings.json'),
    JSON.stringify({ forceLoginMethod: 'gateway', forceLoginGatewayUrl: gw.url, parentSettingsBehavior: 'merge' }),
  );
  writeFileSync(
    join(dirs.home, '.claude.json'),
    JSON.stringify({
      hasCompletedOnboarding: true,
      theme: 'dark',
      projects: { [dirs.work]: { hasTrustDialogAccepted: true } },
    }),
  );
});
after(async () => {
  if (skip) return;
  await gw.close(100);
  await idp.close();
  await emu.close();
});

/** A program's output, run without blocking this process (the gateway and the identity provider live here). */
function run(cmd: string, args: string[], opts: { cwd: string; env: Record<string, string> }) {
  return new Promise<{ stdout: string; stderr: string; code: number | null }>((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code });
    });
  });
}

/** A command in a private mount namespace whose /etc is an overlay holding the managed-settings file. */
function inNamespace(command: string[]): string[] {
  const o = dirs.ovl;
  const script =
    `mount -t tmpfs tmpfs ${o} && mkdir -p ${o}/upper ${o}/work && ` +
    `mount -t overlay overlay -o lowerdir=/etc,upperdir=${o}/upper,workdir=${o}/work /etc && ` +
    `mkdir -p /etc/claude-code && cp ${dirs.managed}/managed-settings.json /etc/claude-code/ && exec "$@"`;
  return ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', ...command];
}

const env = () => ({
  PATH: `${process.env['CC_BIN_DIR'] ?? join(process.cwd(), 'node_modules', '.bin')}:${process.env['PATH'] ?? ''}`,
  HOME: dirs.home,
  DISABLE_TELEMETRY: '1',
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  BROWSER: '/bin/true',
  TERM: 'xterm-256color',
  AWS_EC2_METADATA_DISABLED: 'true',
});

describe('a real Claude Code signs in through /login', { skip }, () => {
  it('connects to the gateway, approves in a browser, then calls models as the person', async () => {
    const steps = [
      { wait: 'Not\\s*logged\\s*in', keys: '/login' },
      { wait: 'login', keys: '\r' },
      { wait: 'Enter\\s*to\\s*connect', keys: '\r' },
      { wait: 'No,\\s*go\\s*back', keys: '\u001b[A' },
      { wait: 'trust\\s*this\\s*gateway', keys: '\r' },
      { wait: '\\b([BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4})\\b', keys: '@CODE' },
      { wait: 'Connected', keys: '@EXIT', linger: 5 },
    ];
    const [cmd, ...args] = inNamespace([
      'python3',
      join(process.cwd(), 'test/identity/pty-driver.py'),
      '120',
      'claude',
    ]);
    const driver = spawn(cmd!, args, { cwd: dirs.work, env: env(), stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    (driver.stdio[3] as NodeJS.WritableStream).end(steps.map((s) => JSON.stringify(s)).join('\n'));
    let screen = '';
    driver.stderr.on('data', (d: Buffer) => (screen += d.toString()));
    const exited = new Promise<number | null>((r) => driver.on('exit', (code) => r(code)));
    idp.signInAs('u-alice');
    for await (const line of createInterface({ input: driver.stdout })) {
      const code = /^CODE (\S+)$/.exec(line)?.[1];
      if (!code) continue;
      assert.match(await approveInBrowser(gw.url, idp.issuer, code), /signed in/);
      driver.stdin.write('approved\n');
    }
    assert.equal(await exited, 0, `the /login screens:\n${screen.slice(-3000)}`);

    // Asynchronously: the gateway answers from this process.
    const [pcmd, ...pargs] = inNamespace(['claude', '-p', 'Echo through the signed-in gateway']);
    const p = await run(pcmd!, pargs, { cwd: dirs.work, env: env() });
    assert.equal(p.stdout.trim(), 'Echo through the signed-in gateway', p.stderr);
    await gw.flushLedger();
    const store = openSqliteControlStore(dataDir);
    const rows = (await store.requests({ since: 0, until: Date.now() + 60_000, limit: 50 })).filter((r) => r.model);
    await store.close();
    assert.ok(rows.length >= 1 && rows.every((r) => r.keyName === 'oidc:alice@example.com'), JSON.stringify(rows));

    // `/usage` in the interactive client: her spend against her weekly $200 (GET /api/oauth/usage).
    const usageSteps = [
      { wait: 'for\\s*shortcuts|>', keys: '/usage' },
      { wait: '/usage', keys: '\r' },
      { wait: '\\$200', keys: '@EXIT', linger: 2 },
    ];
    const [ucmd, ...uargs] = inNamespace([
      'python3',
      join(process.cwd(), 'test/identity/pty-driver.py'),
      '60',
      'claude',
    ]);
    const usage = spawn(ucmd!, uargs, { cwd: dirs.work, env: env(), stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    (usage.stdio[3] as NodeJS.WritableStream).end(usageSteps.map((s) => JSON.stringify(s)).join('\n'));
    let usageScreen = '';
    usage.stderr.on('data', (d: Buffer) => (usageScreen += d.toString()));
    usage.stdout.resume();
    const usageExit = await new Promise<number | null>((r) => usage.on('exit', (code) => r(code)));
    assert.equal(usageExit, 0, `the /usage screen:\n${usageScreen.slice(-3000)}`);
    assert.match(usageScreen, /\$[0-9.]+\s*\/\s*\$200(\.00)?/, 'spent against her cap');
  });
});
