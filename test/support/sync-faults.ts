/**
 * Makes the disk under chosen files of a running process fail its syncs, with strace's
 * syscall tampering: attached to every thread of the process, strace answers EIO for the
 * syncs of those files (-P: the syscalls on other files, message bodies, are untouched) and
 * leaves the data in the page cache, as a failed writeback does. Attached and detached while
 * the process runs, so the fault starts and ends when the test says, not at a count of syncs
 * since the start. Needs ptrace on the process: root, CAP_SYS_PTRACE, or kernel.yama.ptrace_scope 0.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor } from './wait-for.js';

export interface SyncFault {
  /** Detaches strace: from then on every sync of the files goes to the disk again. */
  stop(): Promise<void>;
  /** strace's trace of the syscalls it saw on the files, each failed one marked (INJECTED). */
  trace(): Promise<string>;
}

export interface SyncFaultOptions {
  /** Where strace writes its trace. */
  tracePath: string;
  /**
   * Only the first fdatasync after attaching fails (fsync keeps failing until stop()): the
   * kernel reports a writeback error once, and the next fdatasync of the same file succeeds.
   */
  firstFdatasyncOnly?: boolean;
}

/** Attaches the fault, or says why this machine cannot (no strace, ptrace refused). */
export async function failSyncsOf(pid: number, paths: string[], options: SyncFaultOptions): Promise<SyncFault | { unavailable: string }> {
  const fdatasyncWhen = options.firstFdatasyncOnly ? ':when=1' : '';
  const args = [
    '-f',
    '-qq',
    '-p',
    String(pid),
    ...paths.flatMap((path) => ['-P', path]),
    '-e',
    'trace=fdatasync,fsync',
    '-e',
    `inject=fdatasync:error=EIO${fdatasyncWhen}`,
    '-e',
    'inject=fsync:error=EIO',
    '-o',
    options.tracePath,
  ];
  let strace: ChildProcess;
  try {
    strace = spawn('strace', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    return { unavailable: `strace could not be started: ${(err as Error).message}` };
  }
  let stderr = '';
  strace.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<string>((resolve) => {
    strace.on('error', (err) => resolve(`strace could not be started: ${err.message}`));
    strace.on('exit', (code, signal) => resolve(`strace exited (${code ?? signal}): ${stderr.trim()}`));
  });
  let gone: string | undefined;
  void exited.then((why) => {
    gone = why;
  });
  const attached = await waitFor(
    async () => {
      if (gone) return { failed: gone };
      return (await tracedByAll(pid, strace.pid as number)) ? { failed: undefined } : undefined;
    },
    { what: `strace to attach to every thread of ${pid}`, timeoutMs: 30_000 },
  ).catch((err: Error) => ({ failed: err.message }));
  if (attached.failed !== undefined) {
    strace.kill('SIGKILL');
    return { unavailable: attached.failed };
  }
  return {
    async stop() {
      if (gone === undefined) {
        strace.kill('SIGTERM');
        await exited;
      }
      await waitFor(async () => (await tracedByAll(pid, 0)) || undefined, { what: `every thread of ${pid} to be detached` });
    },
    trace: () => readFile(options.tracePath, 'utf8').catch(() => ''),
  };
}

/** True when every thread of the process has `tracer` as its TracerPid (0: none). */
async function tracedByAll(pid: number, tracer: number): Promise<boolean> {
  const tasks = await readdir(`/proc/${pid}/task`);
  for (const task of tasks) {
    const status = await readFile(join('/proc', String(pid), 'task', task, 'status'), 'utf8').catch(() => undefined);
    // A thread that ended meanwhile has no status left to read.
    if (status !== undefined && Number(/^TracerPid:\s+(\d+)/m.exec(status)?.[1]) !== tracer) return false;
  }
  return tasks.length > 0;
}
