// Codex CLI (`@openai/codex`, which speaks only the Responses API) through the gateway on the emulator: a custom
// model provider pointing at the gateway with `wire_api = "responses"`, HOME in a temp folder, update checks,
// analytics and feedback off, traffic only to 127.0.0.1. `codex exec` answers a prompt, and runs a tool call (the
// emulator's script answers the prompt with an exec_command call, then the command's output with text).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import type { RunningGateway } from '../../src/server/gateway.js';
import { gatewayOn, tempHome } from '../helpers.js';

const CODEX = join(process.cwd(), 'node_modules', '.bin', 'codex');
const skip = existsSync(CODEX) ? undefined : 'no Codex CLI in node_modules (npm ci installs @openai/codex)';

let emu: RunningEmulator;
let gw: RunningGateway;
const home = tempHome();
const work = join(tempHome(), 'work');

before(async () => {
  if (skip) return;
  emu = await startEmulator({
    port: 0,
    script: {
      rules: [
        { match: { text: 'codex-tool-ran' }, reply: { text: 'The command printed codex-tool-ran.' } },
        {
          match: { text: 'run the echo' },
          reply: { toolUse: { name: 'exec_command', input: { cmd: 'echo codex-tool-ran' } } },
        },
      ],
    },
  });
  gw = await gatewayOn(emu.url);
  mkdirSync(join(home, '.codex'), { recursive: true });
  mkdirSync(work, { recursive: true });
  writeFileSync(
    join(home, '.codex', 'config.toml'),
    [
      'model = "claude-haiku-4-5"',
      'model_provider = "bedrock-claude"',
      'check_for_update_on_startup = false',
      'web_search = "disabled"',
      '',
      '[model_providers.bedrock-claude]',
      'name = "bedrock-claude"',
      `base_url = "${gw.url}/v1"`,
      'env_key = "BEDROCK_CLAUDE_KEY"',
      'wire_api = "responses"',
      '',
      '[analytics]',
      'enabled = false',
      '',
      '[feedback]',
      'enabled = false',
      '',
    ].join('\n'),
  );
});
after(async () => {
  if (skip) return;
  await gw.close(100);
  await emu.close();
});

/** `codex exec PROMPT`, without blocking this process (the gateway answers from here). */
function codexExec(prompt: string) {
  return new Promise<{ stdout: string; stderr: string; code: number | null }>((resolve) => {
    const child = spawn(CODEX, ['exec', '--skip-git-repo-check', prompt], {
      cwd: work,
      env: { PATH: process.env['PATH'] ?? '', HOME: home, BEDROCK_CLAUDE_KEY: 'unused', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code });
    });
  });
}

describe('Codex CLI through the Responses front', { skip, timeout: 300_000 }, () => {
  it('answers a prompt', async () => {
    const r = await codexExec('Say hello from codex');
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    assert.equal(r.stdout.trim(), 'Say hello from codex');
    const sent = emu.received.at(-1)!;
    assert.equal(sent.operation, 'invoke-with-response-stream', 'Codex streams');
  });

  it('runs a tool call: the command it was asked for runs, its output goes back, the answer comes', async () => {
    const r = await codexExec('Please run the echo command');
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    assert.equal(r.stdout.trim(), 'The command printed codex-tool-ran.');
    assert.match(r.stderr, /echo codex-tool-ran/, 'Codex ran the command');
    const last = emu.received.at(-1)!.body as {
      messages: Array<{ role: string; content: Array<Record<string, unknown>> }>;
    };
    const result = last.messages.at(-1)!.content.find((b) => b['type'] === 'tool_result')!;
    assert.match(JSON.stringify(result['content']), /codex-tool-ran/, "the command's output went back to Claude");
  });
});
