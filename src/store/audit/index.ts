import type { AuditStore } from '../../audit/audit-store.js';
import type { Db } from '../tables.js';
import { appendAudit } from './append-audit.js';
import { auditChainOf } from './audit-chain.js';
import { listAudit } from './list-audit.js';
import { readRecords } from './read-records.js';

export function sqlAuditStore(db: Db): AuditStore {
  return {
    list: (query) => listAudit(db, query),
    records: (range) => readRecords(db, range),
    append: (actor, entry, at) => db.transaction().execute((trx) => appendAudit(trx, actor, entry, at)),
    keying: () => auditChainOf(db),
  };
}
