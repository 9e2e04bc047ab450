import type { ExpressionBuilder } from 'kysely';
import type { DueMessage } from '../../queue/queue-store.js';
import type { Database, Db } from '../tables.js';
import { ACTIVE } from './recipient-states.js';

export interface LeaseRequest {
  owner: string;
  now: number;
  maxMessages: number;
  until: number;
  /** Messages this process must never deliver (commit-ledger.ts). */
  excluded: string[];
}

const LEASED = ['id', 'message_id', 'address', 'attempts', 'notify', 'orcpt', 'position'] as const;

function dueAt(now: number, excluded: string[]) {
  return (eb: ExpressionBuilder<Database, 'recipients'>) =>
    eb.and([
      eb('status', 'in', ACTIVE),
      eb('next_attempt_at', '<=', now),
      eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]),
      ...(excluded.length > 0 ? [eb('message_id', 'not in', excluded)] : []),
    ]);
}

/** Up to maxMessages messages among the earliest due candidates, in order. */
function firstMessages(candidates: { message_id: string }[], maxMessages: number): string[] {
  return [...new Set(candidates.map((c) => c.message_id))].slice(0, maxMessages);
}

/**
 * One writer at a time (SQLite): candidates without GROUP BY (measured: grouping made the
 * claim the costliest statement of a delivery); the UPDATE re-checks `due`, so a candidate
 * another worker took meanwhile is skipped, and a message is claimed with all its due recipients.
 */
export async function leaseRechecking(db: Db, r: LeaseRequest) {
  const due = dueAt(r.now, r.excluded);
  const candidates = await db
    .selectFrom('recipients')
    .select('message_id')
    .where(due)
    .orderBy('next_attempt_at')
    .limit(r.maxMessages * 4)
    .execute();
  const messageIds = firstMessages(candidates, r.maxMessages);
  if (messageIds.length === 0) return [];
  return db
    .updateTable('recipients')
    .set({ lease_owner: r.owner, lease_until: r.until })
    .where('message_id', 'in', messageIds)
    .where(due)
    .returning(LEASED)
    .execute();
}

/**
 * Many instances (PostgreSQL): the candidates are locked with FOR UPDATE SKIP LOCKED, so
 * workers claiming at the same moment take disjoint rows instead of queueing behind each
 * other's locks, and the lease is written before the locks go.
 */
export async function leaseSkippingLocked(db: Db, r: LeaseRequest) {
  return db.transaction().execute(async (trx) => {
    const candidates = await trx
      .selectFrom('recipients')
      .select(['id', 'message_id'])
      .where(dueAt(r.now, r.excluded))
      .orderBy('next_attempt_at')
      .limit(r.maxMessages * 4)
      .forUpdate()
      .skipLocked()
      .execute();
    const messageIds = new Set(firstMessages(candidates, r.maxMessages));
    const ids = candidates.filter((c) => messageIds.has(c.message_id)).map((c) => c.id);
    if (ids.length === 0) return [];
    return trx.updateTable('recipients').set({ lease_owner: r.owner, lease_until: r.until }).where('id', 'in', ids).returning(LEASED).execute();
  });
}

type Leased = Awaited<ReturnType<typeof leaseRechecking>>;

/** The leased recipients' messages, each with its leased recipients in their order. */
export async function dueMessages(db: Db, ids: string[], leased: Leased): Promise<DueMessage[]> {
  const rows = await db.selectFrom('messages').selectAll().where('id', 'in', ids).execute();
  return rows.map(
    (m): DueMessage => ({
      id: m.id,
      mailFrom: m.mail_from,
      sizeBytes: Number(m.size_bytes),
      receivedAt: Number(m.received_at),
      expiresAt: Number(m.expires_at),
      envId: m.env_id ?? undefined,
      ret: m.dsn_ret ?? undefined,
      isDsn: m.is_dsn === 1,
      direction: m.direction,
      tlsRequired: m.tls_required ?? undefined,
      credentialId: m.credential_id,
      recipients: leased
        .filter((r) => r.message_id === m.id)
        .sort((a, b) => a.position - b.position)
        .map((r) => ({ id: r.id, address: r.address, attempts: r.attempts, notify: r.notify?.split(','), orcpt: r.orcpt ?? undefined })),
    }),
  );
}
