import type { AuditQuery, AuditRecord } from '../../audit/audit-store.js';
import type { Page } from '../../directory/context.js';
import type { Db } from '../tables.js';
import { toAuditRecord } from './audit-record.js';

/** Newest first, filtered by action, actor and target, with the count of every match. */
export async function listAudit(db: Db, query: AuditQuery): Promise<Page<AuditRecord>> {
  let q = db.selectFrom('audit_log');
  if (query.action) q = q.where('action', '=', query.action);
  if (query.actor) q = q.where('actor', '=', query.actor);
  if (query.targetId) q = q.where('target_id', '=', query.targetId);
  const total = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
  const rows = await q.selectAll().orderBy('seq', 'desc').limit(query.limit).offset(query.offset).execute();
  return { items: rows.map(toAuditRecord), total: Number(total?.n ?? 0), limit: query.limit, offset: query.offset };
}
