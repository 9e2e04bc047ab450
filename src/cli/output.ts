/** Human tables by default, JSON for scripts: every listing verb offers both. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printTable(rows: Record<string, string>[], columns: string[]): void {
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) =>
    `${cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd()}\n`;
  process.stdout.write(line(columns.map((c) => c.toUpperCase())));
  for (const row of rows) process.stdout.write(line(columns.map((c) => row[c] ?? '')));
}

export function formatTime(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** An error the user can act on: printed without a stack trace, exit status 1. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

let closedPipe: 'exit' | 'ignore' = 'exit';

/**
 * `relaygate queue list | head -1`: once the reader has gone (EPIPE), the rest of the output
 * has nowhere to go, and the command ends quietly with status 0, as `yes | head -1` does.
 * Set once, in main.ts, for stdout and stderr.
 */
export function endQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      if (closedPipe === 'exit') process.exit(0);
    });
  }
}

/** A running gateway keeps delivering mail when whoever read its output has gone. */
export function keepServingOnClosedPipe(): void {
  closedPipe = 'ignore';
}
