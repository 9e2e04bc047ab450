import { createInterface } from 'node:readline';

/**
 * Asks a yes/no question at the terminal (on stderr, so that --json output stays clean);
 * only "y" or "yes" says yes, anything else, an empty line or end of input says no. The
 * terminal's own line editing and echo are used (terminal: false): no escape sequences.
 */
export function askAtTerminal(question: string): Promise<boolean> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: false });
    let answered = false;
    rl.on('close', () => {
      if (!answered) process.stderr.write('\n');
      resolve(false);
    });
    rl.question(question, (answer) => {
      answered = true;
      resolve(/^y(es)?$/i.test(answer.trim()));
      rl.close();
    });
  });
}

/** Whether a person can be asked: a terminal to read the answer from. */
export const canAsk = (): boolean => process.stdin.isTTY === true;
