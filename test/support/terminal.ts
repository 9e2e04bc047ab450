import { spawn } from 'node:child_process';
import type { CliResult } from './gateway-process.js';
import { ROOT, relaygateArgv } from './relaygate-command.js';

/**
 * Runs the command in a pseudo-terminal (python3's pty module, on Debian), waits for the
 * question ending in PROMPT, types ANSWER and Enter, and reads until the command ends. When no
 * question comes, the output is read to the end unanswered. The terminal merges stdout and stderr.
 */
const DRIVER = String.raw`
import os, pty, sys
prompt, answer, argv = sys.argv[1].encode(), sys.argv[2].encode(), sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
out = b''
def read():
    global out
    try:
        data = os.read(fd, 4096)
    except OSError:
        return False
    out += data
    return len(data) > 0
while prompt not in out and read():
    pass
if prompt in out:
    os.write(fd, answer + b'\r')
while read():
    pass
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
`;

/** `relaygate ARGS` at a terminal, answering its question; stdout is what the terminal showed. */
export function runCliAtTerminal(args: string[], env: NodeJS.ProcessEnv, answer: { prompt: string; text: string }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', DRIVER, answer.prompt, answer.text, process.execPath, ...relaygateArgv(), ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: stdout.replace(/\r+\n/g, '\n'), stderr }));
  });
}
