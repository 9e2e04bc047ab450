import { errnoInWords, isSystemError } from '../lib/system-error.js';

/** sysexits.h: an output file or directory cannot be created or written (the data directory). */
export const EX_CANTCREAT = 73;
/**
 * sysexits.h: a service this needs is not available: the database, or a port another process
 * holds. A port in use is most often an earlier instance still draining or another mail server
 * on 587; the configuration may be right, and a restart later can succeed, so it is not 78.
 */
export const EX_UNAVAILABLE = 69;

/**
 * The machine around the gateway stops it: a path it cannot create or write, a port it cannot
 * listen on. `subject` names the path or key, `problem` the errno in words, `fix` what to do.
 */
export class EnvironmentError extends Error {
  readonly exitCode: number;
  readonly fix: string;

  constructor(subject: string, problem: string, fix: string, exitCode: number) {
    super(`${subject}: ${problem}\n  fix: ${fix}`);
    this.name = 'EnvironmentError';
    this.fix = fix;
    this.exitCode = exitCode;
  }
}

/**
 * A file error that escaped the checks at start (a key file restored as root, a spool
 * directory made read-only while running): named with its path instead of a stack trace.
 */
export function fileErrorOf(err: unknown): EnvironmentError | undefined {
  if (!isSystemError(err) || !err.path) return undefined;
  return new EnvironmentError(
    `cannot ${err.syscall} ${err.path}`,
    errnoInWords(err.code),
    `check that the user running relaygate (${runningUser()}) may read and write it and its directory (ls -ld ${err.path}), and that its filesystem is writable`,
    EX_CANTCREAT,
  );
}

export function runningUser(): string {
  return typeof process.getuid === 'function' ? `uid ${process.getuid()}` : 'this user';
}
