// Helpers for the child processes the bench starts: every one is stopped by its own PID
// (TERM, then KILL after a grace period), never by name.
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { createServer } from 'node:net';

export const REPO_ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');

/** `node --import tsx FILE`, the way npm run bench runs run.ts, for bench/*.ts children. */
export function tsxArgs(file: string, args: string[]): string[] {
  return ['--import', 'tsx', `${REPO_ROOT}/bench/${file}`, ...args];
}

/** Every child still running, so that an interrupted bench can stop them (by PID) on its way out. */
const live = new Set<ChildProcess>();

export function startChild(cmd: string, args: string[], options: SpawnOptions): ChildProcess {
  const child = spawn(cmd, args, options);
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** SIGINT/SIGTERM to the bench: TERM every child it started, then leave. */
export function stopChildrenOnSignal(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`[bench] ${signal}: stopping ${live.size} child process(es)\n`);
      void Promise.all([...live].map((c) => stopChild(c, 5000))).then(() => process.exit(130));
    });
  }
}

export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

export async function stopChild(child: ChildProcess, graceMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const done = exited(child);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  const result = await done;
  clearTimeout(killer);
  return result;
}

/** Runs a command to completion with inherited output, killed (by PID) after limitMs. */
export async function runBounded(cmd: string, args: string[], limitMs: number, env: NodeJS.ProcessEnv = process.env): Promise<number | null> {
  const child = startChild(cmd, args, { stdio: 'inherit', env });
  const timer = setTimeout(() => {
    process.stderr.write(`[bench] ${cmd} ${args.join(' ')} ran over ${limitMs / 1000}s; stopping it\n`);
    void stopChild(child, 10_000);
  }, limitMs);
  const { code } = await exited(child);
  clearTimeout(timer);
  return code;
}

/** A port free on 127.0.0.1 right now, for a server (smtp-sink) that cannot report an ephemeral one. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
