/**
 * Another process holding the embedded store's write lock, as a backup or a long CLI
 * transaction would: `BEGIN EXCLUSIVE` on the file given, "locked" on stdout once held, and
 * the lock kept until standard input ends. Run as `node --import tsx hold-sqlite-lock.ts PATH`.
 */
import { BetterSqlite3 } from '../../src/store/sqlite/driver.js';

const path = process.argv[2];
if (!path) throw new Error('usage: hold-sqlite-lock.ts DATABASE');
const db = new BetterSqlite3(path);
db.exec('BEGIN EXCLUSIVE');
process.stdout.write('locked\n');
process.stdin.resume();
process.stdin.on('end', () => {
  db.exec('ROLLBACK');
  db.close();
  process.stdout.write('released\n');
});
