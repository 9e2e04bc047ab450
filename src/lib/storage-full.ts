/**
 * Errors that mean "no room to store this", from the filesystem (ENOSPC: the filesystem is
 * full; EDQUOT: the user's quota; EFBIG: the file-size limit, RLIMIT_FSIZE, which Node
 * reports as an error because it ignores SIGXFSZ) or from SQLite, which reports its own
 * failed writes on a full disk as SQLITE_FULL, or from PostgreSQL, whose server reports its
 * full disk as SQLSTATE 53100 (disk_full) to the client writing a body or a row. The cause
 * chain is searched: wrappers keep the original as `cause`.
 */
const STORAGE_FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'SQLITE_FULL', '53100']);

export function isStorageFull(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (STORAGE_FULL_CODES.has(String((e as NodeJS.ErrnoException).code))) return true;
  }
  return false;
}
