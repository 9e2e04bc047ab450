/**
 * Errors that mean "another holds the store's lock for now": SQLite's SQLITE_BUSY (and its
 * extended codes) once the busy timeout has run out, or PostgreSQL's lock_not_available
 * (55P03, a lock_timeout). The cause chain is searched, as in storage-full.ts.
 */
export function isStoreBusy(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = String((e as NodeJS.ErrnoException).code);
    if (code.startsWith('SQLITE_BUSY') || code === '55P03') return true;
  }
  return false;
}
