#!/usr/bin/env python3
"""Drives an interactive program through a pseudo-terminal, bounded in time (a test helper).

Usage: pty-driver.py TIMEOUT_S PROGRAM [ARGS...]   (steps on fd 3 as JSON lines: {"wait": regex, "keys": text})
A step whose keys are "@CODE" prints "CODE <group 1>" on stdout and waits for a line on stdin before going on;
"@EXIT" ends. The screen (ANSI stripped) goes to stderr as it arrives. Exit code 0 when every step matched.
"""
import json, os, pty, re, select, signal, struct, sys, time, fcntl, termios

timeout = float(sys.argv[1])
program = sys.argv[2:]
steps = [json.loads(line) for line in os.fdopen(3).read().splitlines() if line.strip()]
ANSI = re.compile(r'\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*(\x07|\x1b\\)|\x1b[()][0-9A-B]|\x1b[=>]|\r')

pid, fd = pty.fork()
if pid == 0:
    os.execvp(program[0], program)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 40, 140, 0, 0))
deadline = time.time() + timeout
buf, i = '', 0
while time.time() < deadline and i < len(steps):
    ready, _, _ = select.select([fd], [], [], 0.3)
    if ready:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        text = re.sub(r'\x1b\[(\d*)C', lambda m: ' ' * int(m.group(1) or 1), data.decode('utf8', 'replace'))
        text = ANSI.sub('', text)
        sys.stderr.write(text)
        sys.stderr.flush()
        buf += text
    step = steps[i]
    m = re.search(step['wait'], buf, re.S | re.I)
    if not m:
        continue
    time.sleep(0.5)  # let the screen settle before a key: the program reads input after drawing
    keys = step['keys']
    if keys == '@EXIT':
        i += 1
        time.sleep(float(step.get('linger', 0)))  # what the program does next (a fetch) before it is stopped
        break
    if keys == '@CODE':
        print('CODE ' + m.group(1), flush=True)
        sys.stdin.readline()
    else:
        os.write(fd, keys.encode())
    buf = buf[m.end():]
    i += 1
for signum in (signal.SIGTERM, signal.SIGKILL):
    try:
        os.kill(pid, signum)
        time.sleep(0.5)
    except ProcessLookupError:
        break
try:
    os.waitpid(pid, 0)
except ChildProcessError:
    pass
sys.exit(0 if i == len(steps) else 1)
