import type { SandboxStore } from '../../sandbox/sandbox-store.js';
import { engineOf } from '../engine.js';
import type { Db } from '../tables.js';
import { findCapture, listCaptures, toRow } from './captures.js';
import { dkimPublicRecord, newestInboundCredential } from './gateway-lookups.js';

/** The sandbox mailbox's rows and what the sandbox reads of the gateway's own (src/sandbox). */
export function sqlSandboxStore(db: Db): SandboxStore {
  return {
    bytesInRows: engineOf(db) === 'postgres',
    async insertCapture(capture, raw) {
      await db.insertInto('sandbox_messages').values(toRow(capture, raw)).execute();
    },
    listCaptures: (page) => listCaptures(db, page),
    findCapture: (id) => findCapture(db, id),
    async captureBytes(id) {
      const row = await db.selectFrom('sandbox_messages').select(['kind', 'raw']).where('id', '=', id).executeTakeFirst();
      return row && { kind: row.kind, raw: row.raw ? Buffer.from(row.raw) : null };
    },
    async captureIds() {
      return (await db.selectFrom('sandbox_messages').select('id').execute()).map((r) => r.id);
    },
    async removeCaptures() {
      const deleted = await db.deleteFrom('sandbox_messages').executeTakeFirst();
      return Number(deleted.numDeletedRows);
    },
    async anyConnection() {
      return (await db.selectFrom('connections').select('id').limit(1).executeTakeFirst()) !== undefined;
    },
    newestInboundCredential: (domain) => newestInboundCredential(db, domain),
    dkimPublicRecord: (selector, domain) => dkimPublicRecord(db, selector, domain),
  };
}
