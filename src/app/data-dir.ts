import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { errnoInWords, isSystemError } from '../lib/system-error.js';
import { EnvironmentError, EX_CANTCREAT, runningUser } from './environment-error.js';

const SUBJECT = 'the data directory';
const KEY = 'dataDir, RELAYGATE_DATA_DIR';

/**
 * Creates the data directory (mode 0700) if needed and proves that this process can write in
 * it, before anything else is put there; throws EnvironmentError (exit 73) naming the path, the
 * errno and the fix. mkdirSync's own `recursive` is not used: on /proc it gets ENOENT for the
 * directory, finds the parent there and tries again, for ever (Node 20).
 */
export function prepareDataDir(dataDir: string): void {
  try {
    makeDirectory(dataDir);
  } catch (err) {
    throw dataDirError(dataDir, 'cannot be created', err);
  }
  // Root passes permission checks, not a read-only mount or an immutable directory: only a write tells.
  const probe = join(dataDir, `.write-check-${process.pid}`);
  try {
    writeFileSync(probe, '', { mode: 0o600 });
    rmSync(probe, { force: true });
  } catch (err) {
    throw dataDirError(dataDir, 'cannot be written', err);
  }
}

function makeDirectory(path: string): void {
  try {
    mkdirSync(path, { mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if (!statSync(path).isDirectory()) throw Object.assign(new Error(`${path} is not a directory`), { code: 'ENOTDIR', syscall: 'mkdir', path });
      return;
    }
    const parent = dirname(path);
    // ENOENT with the parent present: the filesystem (procfs) takes no new directories.
    if (code !== 'ENOENT' || parent === path || exists(parent)) throw err;
    makeDirectory(parent);
    mkdirSync(path, { mode: 0o700 });
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The file standing where a directory of `path` should be (path itself, or one of its parents). */
function fileOnTheWay(path: string): string {
  for (let at = path; ; at = dirname(at)) {
    try {
      if (!statSync(at).isDirectory()) return at;
    } catch {
      // Not there (yet): its parent is the one to look at.
    }
    if (dirname(at) === at) return path;
  }
}

function dataDirError(dataDir: string, what: string, err: unknown): EnvironmentError {
  if (!isSystemError(err)) throw err;
  const at = err.path && err.path !== dataDir ? ` at ${err.path}` : '';
  return new EnvironmentError(`${SUBJECT} ${dataDir} (${KEY}) ${what}`, `${errnoInWords(err.code)}${at}`, fixFor(err, dataDir), EX_CANTCREAT);
}

const ELSEWHERE = 'set RELAYGATE_DATA_DIR to a directory on a writable local filesystem, e.g. /var/lib/relaygate';

function fixFor(err: NodeJS.ErrnoException, dataDir: string): string {
  const path = err.path ?? dataDir;
  const virtual = /^\/(proc|sys)\b/.exec(path);
  if (virtual) return `${virtual[0]} is a virtual filesystem of the kernel and holds no files of ours: ${ELSEWHERE}`;
  switch (err.code) {
    case 'EACCES':
    case 'EPERM':
      return `let the user running relaygate (${runningUser()}) write there (chown, chmod u+w; lsattr shows an immutable flag), or ${ELSEWHERE}`;
    case 'EROFS':
      return `${path} is on a read-only filesystem: mount a writable volume there, or ${ELSEWHERE}`;
    case 'ENOTDIR':
    case 'EEXIST':
      return `${fileOnTheWay(path)} is a file, not a directory: move it away, or ${ELSEWHERE}`;
    case 'ENOSPC':
    case 'EDQUOT':
      return `free space on that filesystem, or ${ELSEWHERE}`;
    default:
      return ELSEWHERE;
  }
}
