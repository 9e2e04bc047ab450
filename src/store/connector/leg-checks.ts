import type { LegCheckRecord } from '../../connector/connector-store.js';
import type { Leg } from '../../model/states.js';
import type { Db, LegChecksTable } from '../tables.js';

/** The domain's checks, newest first; of one leg when given. */
export async function checksOf(db: Db, domainId: string, options: { leg?: Leg; limit: number }): Promise<LegCheckRecord[]> {
  let q = db.selectFrom('leg_checks').selectAll().where('domain_id', '=', domainId);
  if (options.leg) q = q.where('leg', '=', options.leg);
  const rows = await q.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(options.limit).execute();
  return rows.map(toRecord);
}

export async function verifiedSince(db: Db, domainId: string, leg: Leg, since: number): Promise<boolean> {
  const verified = await db
    .selectFrom('leg_checks')
    .select('id')
    .where('domain_id', '=', domainId)
    .where('leg', '=', leg)
    .where('status', '=', 'verified')
    .where('started_at', '>=', since)
    .limit(1)
    .executeTakeFirst();
  return verified !== undefined;
}

/** Only a pending check ends: a token that comes back twice, or after the deadline, changes nothing. */
export async function finishCheck(db: Db, id: string, status: 'verified' | 'failed', reason: string | null, at: number): Promise<boolean> {
  const updated = await db
    .updateTable('leg_checks')
    .set({ status, reason, finished_at: at })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return Number(updated.numUpdatedRows) > 0;
}

export async function failPending(db: Db, domainId: string, reason: string, at: number): Promise<void> {
  await db
    .updateTable('leg_checks')
    .set({ status: 'failed', reason, finished_at: at })
    .where('domain_id', '=', domainId)
    .where('status', '=', 'pending')
    .execute();
}

export function toRow(check: LegCheckRecord): LegChecksTable {
  return {
    id: check.id,
    domain_id: check.domainId,
    leg: check.leg,
    trigger: check.trigger,
    token_hash: check.tokenHash,
    status: check.status,
    reason: check.reason,
    queue_id: check.queueId,
    started_at: check.startedAt,
    deadline_at: check.deadlineAt,
    finished_at: check.finishedAt,
  };
}

export function toRecord(row: LegChecksTable): LegCheckRecord {
  return {
    id: row.id,
    domainId: row.domain_id,
    leg: row.leg,
    trigger: row.trigger,
    tokenHash: row.token_hash,
    status: row.status,
    reason: row.reason,
    queueId: row.queue_id,
    startedAt: Number(row.started_at),
    deadlineAt: Number(row.deadline_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
  };
}
