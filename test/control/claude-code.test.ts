// Claude Code through the control plane, in both of its modes: a key with a budget and limits
// works and is ledgered with its session; a key whose budget is spent is refused in words Claude
// Code shows the user.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import pino from 'pino';
import { createCredentialCache } from '../../src/aws/credentials.js';
import type { ControlStore } from '../../src/control/control-store.js';
import { openSqliteControlStore } from '../../src/control/sqlite-store.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { startGateway, type RunningGateway } from '../../src/server/gateway.js';
import { CREDS, tempHome } from '../helpers.js';

const execFileAsync = promisify(execFile);
function claude(
  prompt: string,
  extra: Record<string, string>,
): Promise<{ stdout: string; stderr: string; code: number }> {
  const env = Object.assign(
    {
      PATH: process.env['PATH'] ?? '',
      HOME: tempHome(),
      DISABLE_TELEMETRY: '1',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    extra,
  );
  const p = execFileAsync('node_modules/.bin/claude', ['-p', prompt], { env, timeout: 90_000 }) as unknown as Promise<{
    stdout: string;
    stderr: string;
  }> & { child: { stdin: { end(): void } | null } };
  p.child.stdin?.end();
  return p.then(
    (r) => ({ stdout: r.stdout, stderr: r.stderr, code: 0 }),
    (e: { stdout?: string; stderr?: string; code?: number }) => ({
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? '',
      code: e.code ?? 1,
    }),
  );
}

let emu: RunningEmulator;
let gw: RunningGateway;
let store: ControlStore;
let dev: string;
let broke: string;

before(async () => {
  emu = await startEmulator({ port: 0 });
  const dir = join(tempHome(), 'cc');
  store = openSqliteControlStore(dir);
  await store.createTeam({ name: 'apps', budget: { usd: 50, period: 'month' }, limits: { rpm: 600 } }, Date.now());
  dev = (
    await store.createKey(
      {
        name: 'dev-laptop',
        user: 'dana',
        team: 'apps',
        budget: { usd: 5, period: 'day' },
        limits: { rpm: 120, itpm: 2_000_000, otpm: 400_000, concurrency: 8 },
      },
      Date.now(),
    )
  ).key;
  broke = (await store.createKey({ name: 'spent', user: 'sam', budget: { usd: 0, period: 'month' } }, Date.now())).key;
  gw = await startGateway({
    port: 0,
    region: 'us-west-2',
    auth: { kind: 'sigv4', credentials: createCredentialCache(CREDS) },
    endpoint: emu.url,
    dataDir: dir,
    retry: { max: 0 },
    logger: pino({ level: 'silent' }),
  });
});
after(async () => {
  await gw.close(100);
  await emu.close();
  await store.close();
});

describe('Claude Code through keys with budgets and limits', () => {
  it('ANTHROPIC_BASE_URL: answers, and the ledger has the session, the user, the cost', async () => {
    const r = await claude('Echo through the control plane', { ANTHROPIC_BASE_URL: gw.url, ANTHROPIC_API_KEY: dev });
    assert.equal(r.stdout.trim(), 'Echo through the control plane', r.stderr);
    await new Promise((res) => setTimeout(res, 300));
    const rows = await store.requests({ since: 0, until: Date.now() + 1, limit: 100, key: 'dev-laptop' });
    const calls = rows.filter((x) => x.route === '/v1/messages' && x.status === 200);
    assert.ok(calls.length >= 1);
    const row = calls[0]!;
    assert.deepEqual([row.user, row.team], ['dana', 'apps']);
    assert.match(row.userAgent ?? '', /^claude-cli\//);
    assert.ok(row.session && row.session.length > 8, "Claude Code's session id");
    assert.ok(row.costUsd > 0 && row.streamed);
  });
  it('Bedrock mode (CLAUDE_CODE_USE_BEDROCK=1): answers with the same key', async () => {
    const r = await claude('Echo in Bedrock mode, with a budget', {
      CLAUDE_CODE_USE_BEDROCK: '1',
      CLAUDE_CODE_SKIP_BEDROCK_AUTH: '1',
      ANTHROPIC_BEDROCK_BASE_URL: gw.url,
      AWS_REGION: 'us-west-2',
      ANTHROPIC_CUSTOM_HEADERS: `x-api-key: ${dev}`,
    });
    assert.equal(r.stdout.trim(), 'Echo in Bedrock mode, with a budget', r.stderr);
  });
  it('a key whose budget is spent: Claude Code shows the refusal, in both modes, and nothing reaches Bedrock', async () => {
    const before = emu.received.length;
    const direct = await claude('Spend more', { ANTHROPIC_BASE_URL: gw.url, ANTHROPIC_API_KEY: broke });
    assert.notEqual(direct.code, 0);
    assert.match(direct.stdout + direct.stderr, /budget of key "spent" is spent/);
    const bedrock = await claude('Spend more in Bedrock mode', {
      CLAUDE_CODE_USE_BEDROCK: '1',
      CLAUDE_CODE_SKIP_BEDROCK_AUTH: '1',
      ANTHROPIC_BEDROCK_BASE_URL: gw.url,
      AWS_REGION: 'us-west-2',
      ANTHROPIC_CUSTOM_HEADERS: `x-api-key: ${broke}`,
    });
    assert.notEqual(bedrock.code, 0);
    assert.match(bedrock.stdout + bedrock.stderr, /400 The budget of key "spent" is spent/);
    assert.equal(
      emu.received.slice(before).filter((x) => x.operation !== 'count-tokens' && x.operation !== 'inference-profiles')
        .length,
      0,
    );
    await new Promise((res) => setTimeout(res, 300));
    const refused = await store.requests({ since: 0, until: Date.now() + 1, limit: 100, key: 'spent' });
    assert.ok(
      refused.length >= 2 &&
        refused.every((x) => x.reason === 'budget:key' && x.status === (x.front === 'anthropic' ? 403 : 400)),
      JSON.stringify(refused.map((x) => [x.front, x.status, x.reason])),
    );
  });
});
