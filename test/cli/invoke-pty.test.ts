// `invoke` on a real terminal (a pty from util-linux `script`, rendered by xterm's headless terminal): when the first
// byte takes over a second, as it does on Bedrock, the spinner shows and then the streamed answer stays on the screen.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import xterm from '@xterm/headless';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { CREDS, tempHome } from '../helpers.js';

const ANSWER = 'the answer that took its time';
let emu: RunningEmulator;
before(async () => {
  emu = await startEmulator({
    port: 0,
    script: { rules: [{ match: { text: 'slow' }, reply: { text: ANSWER, delayMs: 1500 } }] },
  });
});
after(() => emu.close());

/** What a command writes to a terminal: its stdout and stderr as one pty gives them (`script -q -e -c`). */
function onTerminal(args: string[]): Promise<{ code: number; raw: string }> {
  const quoted = args.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const env = {
    PATH: process.env['PATH'] ?? '',
    HOME: tempHome(),
    TERM: 'xterm-256color',
    COLUMNS: '100',
    LINES: '30',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ACCESS_KEY_ID: CREDS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDS.secretAccessKey,
  };
  return new Promise((resolve) => {
    execFile(
      'script',
      ['-q', '-e', '-c', `${process.execPath} dist/cli/main.js ${quoted}`, '/dev/null'],
      { env, timeout: 30_000 },
      (err, stdout) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, raw: stdout }),
    );
  });
}

/** The screen after the bytes, as a terminal shows it (carriage returns, line clears and colours applied). */
async function screen(raw: string): Promise<string[]> {
  const term = new xterm.Terminal({ cols: 100, rows: 30, allowProposedApi: true });
  await new Promise<void>((resolve) => term.write(raw, resolve));
  const lines: string[] = [];
  for (let i = 0; i < term.buffer.active.length; i++)
    lines.push(term.buffer.active.getLine(i)!.translateToString(true));
  term.dispose();
  return lines.filter((l) => l.trim());
}

describe('invoke on a terminal', () => {
  it('a slow first byte: the spinner shows, then the streamed text is on the screen at the end', async () => {
    const { code, raw } = await onTerminal(['invoke', 'slow hello', '--region', 'us-west-2', '--endpoint', emu.url]);
    assert.equal(code, 0, raw);
    assert.match(raw, /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] waiting for/, 'the spinner showed while the first byte was awaited');
    const lines = await screen(raw);
    assert.ok(
      lines.some((l) => l.includes(ANSWER)),
      `the answer is on the screen:\n${lines.join('\n')}`,
    );
    assert.ok(
      lines.every((l) => !/waiting for/.test(l)),
      `no spinner left:\n${lines.join('\n')}`,
    );
  });
});
