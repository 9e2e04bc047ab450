import { createRequire } from 'node:module';
import type BetterSqlite3Type from 'better-sqlite3';

const require = createRequire(import.meta.url);

/**
 * better-sqlite3 has two lines and no one release serves every Node we run on:
 * - 12.x subclasses the raw `node::ObjectWrap`. From Node 24 on, that class's destructor
 *   asserts the current isolate has an Environment, and a Statement or Database collected
 *   when it has none aborts the process (`Assertion failed: (env) != nullptr` in
 *   `RemoveEnvironmentCleanupHook`, SIGABRT): seen here on Node 24.21.0 in cli, credentials
 *   and durability tests.
 * - 13.x is built on Node-API 10 (prebuilt, no compiler) and is clean on Node 24, but
 *   Node-API 10 only exists from Node 22.14: on Node 20 (Node-API 9) it segfaults on open.
 * So the runtime's Node-API level picks the line: 13.x (installed under the alias
 * `better-sqlite3-napi`) where it can load, 12.x elsewhere. Both expose the same API and
 * open the same files with the same pragmas (see open.ts). 13.x is an optional dependency:
 * npm skips it, without an engine warning, on a Node that cannot run it.
 */
export const SQLITE_DRIVER = Number(process.versions.napi) >= 10 ? 'better-sqlite3-napi' : 'better-sqlite3';

function loadDriver(): typeof BetterSqlite3Type {
  try {
    return require(SQLITE_DRIVER);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND' || SQLITE_DRIVER === 'better-sqlite3') throw error;
    // Installed under an older Node, then run on a newer one: npm skipped the 13.x line then.
    throw new Error(
      `Node ${process.version} needs the SQLite driver better-sqlite3 13.x, which was not installed (npm skips it on Node 20); run "npm install" again under this Node`,
    );
  }
}

/** The better-sqlite3 `Database` class of the chosen line. */
export const BetterSqlite3: typeof BetterSqlite3Type = loadDriver();
