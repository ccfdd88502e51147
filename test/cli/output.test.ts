// The CLI's terminal helpers: the spinner that shows while the first byte is awaited.
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { spinner } from '../../src/cli/output.js';

function terminal() {
  const written: string[] = [];
  return { written, stream: { isTTY: true, write: (s: string) => written.push(s) > 0 } };
}

describe('spinner', () => {
  it('clears its line once and never again, so a streamed answer is not wiped by later stops', () => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
    try {
      const { written, stream } = terminal();
      const wait = spinner('waiting', stream);
      mock.timers.tick(1000); // the first byte takes over a second: the spinner shows
      mock.timers.tick(250);
      assert.ok(written.length >= 2 && written.every((w) => w.startsWith('\r') && w.endsWith(' waiting')));
      const shown = written.length;
      wait.stop(); // the first event
      assert.deepEqual(written.slice(shown), ['\r\x1b[K']);
      for (let i = 0; i < 5; i++) wait.stop(); // every later event calls stop again
      mock.timers.tick(1000);
      assert.equal(written.length, shown + 1, 'no more line clears, no more frames');
    } finally {
      mock.timers.reset();
    }
  });

  it('writes nothing when the answer comes within a second, or when stderr is not a terminal', () => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
    try {
      const fast = terminal();
      const wait = spinner('waiting', fast.stream);
      mock.timers.tick(999);
      wait.stop();
      mock.timers.tick(5000);
      assert.deepEqual(fast.written, []);
      const piped = terminal();
      piped.stream.isTTY = false;
      spinner('waiting', piped.stream).stop();
      assert.deepEqual(piped.written, []);
    } finally {
      mock.timers.reset();
    }
  });
});

describe('operator output', () => {
  it('shows no control character a client chose (screen clear, OSC 52 clipboard, carriage return)', async () => {
    const { forTerminal, table } = await import('../../src/cli/output.js');
    const evil = 'claude\x1b[2J\x1b]52;c;ZXZpbA==\x07\rfake-model\u009b';
    assert.equal(forTerminal(evil), 'claude?[2J?]52;c;ZXZpbA==??fake-model?');
    const drawn = table(['model'], [[evil]]);
    const controls = [...drawn].filter(
      (c) => c !== '\n' && (c.charCodeAt(0) < 0x20 || (c.charCodeAt(0) >= 0x7f && c.charCodeAt(0) <= 0x9f)),
    );
    assert.deepEqual(controls, [], 'no control character but the line breaks');
  });
  it('quotes CSV cells a spreadsheet would run as a formula', async () => {
    const { csvCell } = await import('../../src/cli/usage-command.js');
    assert.equal(csvCell('=HYPERLINK("http://x","click")'), '"\'=HYPERLINK(""http://x"",""click"")"');
    assert.equal(csvCell('+1'), "'+1");
    assert.equal(csvCell('@SUM(A1)'), "'@SUM(A1)");
    assert.equal(csvCell('-2+3'), "'-2+3");
    assert.equal(csvCell(-2.5), '-2.5', 'numbers stay numbers');
    assert.equal(csvCell('claude-haiku-4-5'), 'claude-haiku-4-5');
  });
});
