import type { AuditRecord } from '../../audit/audit-store.js';
import type { Db } from '../tables.js';
import { toAuditRecord } from './audit-record.js';

/** Oldest first: the records numbered above `afterSeq` (every one without it), at most `limit`. */
export async function readRecords(db: Db, range: { afterSeq?: number; limit?: number } = {}): Promise<AuditRecord[]> {
  let q = db.selectFrom('audit_log').selectAll();
  if (range.afterSeq !== undefined) q = q.where('seq', '>', range.afterSeq);
  q = q.orderBy('seq');
  if (range.limit !== undefined) q = q.limit(range.limit);
  const rows = await q.execute();
  return rows.map(toAuditRecord);
}
