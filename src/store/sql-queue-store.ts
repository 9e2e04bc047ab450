import { type ExpressionBuilder, sql, type Transaction } from 'kysely';
import type { DeliveryEvidence } from '../model/outcome.js';
import type { DueMessage, MessageView, NewMessage, NewSecureMessage, QueueStore, RecipientUpdate } from '../queue/queue-store.js';
import { commitLedger } from './commit-ledger.js';
import { abandonMessages, deleteMessageRows } from './delete-messages.js';
import { type StoreDurability, StoreNotDurable } from './durability.js';
import { engineOf } from './engine.js';
import type { Database, Db, RecipientsTable } from './tables.js';

/** The channel on which PostgreSQL tells every instance's worker that new work is due. */
export const QUEUE_CHANNEL = 'relaygate_queue';

const ACTIVE = ['queued', 'deferred'] as const;
/** Recipients that keep a message open: still to deliver, or parked for an operator. */
const OPEN = [...ACTIVE, 'failed'] as const;

/**
 * QueueStore over Kysely; the SQL is the portable subset of SQLite and PostgreSQL.
 * `syncCommitted` is the engine's durability barrier, awaited where the contract promises
 * durability (commit); losing a later state change to a power cut only repeats work.
 * `durability` (the gateway's) refuses commits while the store is not durable and keeps the
 * compensation of a commit whose sync failed until the store is proven again.
 */
export function sqlQueueStore(db: Db, syncCommitted: () => Promise<void>, durability?: Pick<StoreDurability, 'failure' | 'repairBeforeProof'>): QueueStore {
  const shared = engineOf(db) === 'postgres';
  const ledger = commitLedger();
  /** Delivered to every listening instance when the transaction commits, and not before. */
  const announce = async (trx: Transaction<Database>) => {
    if (shared) await sql`select pg_notify(${QUEUE_CHANNEL} || ':' || current_schema(), '')`.execute(trx);
  };
  const lease = shared ? leaseSkippingLocked : leaseRechecking;
  return {
    async commit(messages) {
      const failure = durability?.failure();
      if (failure) throw new StoreNotDurable(failure);
      const ids = messages.map((m) => m.id);
      const outcome = ledger.begin(ids);
      try {
        await db.transaction().execute(async (trx) => {
          for (const message of messages) await insertMessage(trx, message);
          await announce(trx);
        });
      } catch (err) {
        outcome.failed();
        throw err;
      }
      try {
        await syncCommitted();
      } catch (err) {
        // The client is answered 451 and sends them again: this copy is undone, and never delivered even if that fails.
        outcome.abandoned();
        const undo = () => abandonMessages(db, ids).then(outcome.undone);
        // Retried before every proof of the store until it succeeds (durability.ts): the error that matters is the sync's.
        await (durability ? durability.repairBeforeProof(undo) : undo()).catch(() => undefined);
        throw err;
      }
      outcome.confirmed();
    },

    async claimDue(owner, now, maxMessages, leaseMs) {
      const leased = await lease(db, { owner, now, maxMessages, until: now + leaseMs, excluded: ledger.excludedIds() });
      if (leased.length === 0) return [];
      const ids = await ledger.deliverable([...new Set(leased.map((r) => r.message_id))]);
      if (ids.length === 0) return [];
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
    },

    async recordOutcomes(attempts, now) {
      return db.transaction().execute(async (trx) => {
        const completed = new Set<string>();
        for (const { messageId, updates, dsn, events } of attempts) {
          for (const update of updates) await applyUpdate(trx, messageId, update, now);
          if (events?.length)
            await trx
              .insertInto('event_deliveries')
              .values(
                events.map((e) => ({
                  id: e.id,
                  sender_domain: e.senderDomain,
                  payload: e.payload,
                  status: 'pending' as const,
                  attempts: 0,
                  next_attempt_at: now,
                  expires_at: e.expiresAt,
                  last_reply: null,
                  created_at: now,
                })),
              )
              .execute();
          if (dsn) {
            await insertMessage(trx, dsn);
            await announce(trx);
            await trx.insertInto('events').values({ message_id: messageId, at: now, kind: 'dsn', recipient: null, detail: dsn.id }).execute();
          }
          const done = await trx
            .updateTable('messages')
            .set({ completed_at: now })
            .where('id', '=', messageId)
            .where((eb) => eb.not(eb.exists(eb.selectFrom('recipients').select('id').where('message_id', '=', messageId).where('status', 'in', OPEN))))
            .executeTakeFirst();
          if (Number(done.numUpdatedRows) > 0) completed.add(messageId);
        }
        return completed;
      });
    },

    async releaseLeases(owner) {
      await db.transaction().execute(async (trx) => {
        const query = trx.updateTable('recipients').set({ lease_owner: null, lease_until: null }).where('lease_owner', 'is not', null);
        if (owner === 'all') await query.execute();
        else if (typeof owner === 'string') await query.where('lease_owner', '=', owner).execute();
        else await query.where('lease_owner', 'like', `${owner.instance}:%`).execute();
        // What this worker gave back is due now for the others.
        await announce(trx);
      });
    },

    async renewLeases(owner, messageIds, until) {
      if (messageIds.length === 0) return;
      await db.updateTable('recipients').set({ lease_until: until }).where('lease_owner', '=', owner).where('message_id', 'in', messageIds).execute();
    },

    async nextDueAt() {
      // A leased recipient waits for its lease: a crashed instance's work is due when that runs out.
      const claimableAt = sql<number>`case when lease_until is not null and lease_until > next_attempt_at then lease_until else next_attempt_at end`;
      const abandoned = ledger.excludedIds();
      let query = db
        .selectFrom('recipients')
        .select((eb) => eb.fn.min(claimableAt).as('next'))
        .where('status', 'in', ACTIVE);
      // Rows a failed compensation left behind are never claimed: they must not keep the worker polling.
      if (abandoned.length > 0) query = query.where('message_id', 'not in', abandoned);
      const row = await query.executeTakeFirst();
      return row?.next === null || row?.next === undefined ? undefined : Number(row.next);
    },

    async list({ includeCompleted, limit }) {
      let query = db.selectFrom('messages').selectAll().orderBy('received_at', 'desc').orderBy('id', 'desc').limit(limit);
      if (!includeCompleted) query = query.where('completed_at', 'is', null);
      const messages = await query.execute();
      if (messages.length === 0) return [];
      const recipients = await db
        .selectFrom('recipients')
        .selectAll()
        .where(
          'message_id',
          'in',
          messages.map((m) => m.id),
        )
        .orderBy('position')
        .execute();
      return messages.map((m) => toView(m, recipients));
    },

    async show(id) {
      const message = await db.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirst();
      if (!message) return undefined;
      const recipients = await db.selectFrom('recipients').selectAll().where('message_id', '=', id).orderBy('position').execute();
      const events = await db
        .selectFrom('events')
        .select(['at', 'kind', 'recipient', 'detail', 'evidence'])
        .where('message_id', '=', id)
        .orderBy('id')
        .execute();
      return { ...toView(message, recipients), events: events.map((e) => ({ ...e, at: Number(e.at), evidence: parseEvidence(e.evidence) })) };
    },

    async retry(id, now, expiresAt) {
      return db.transaction().execute(async (trx) => {
        const rows = await trx
          .updateTable('recipients')
          .set({ next_attempt_at: now, status: 'queued' })
          .where('message_id', '=', id)
          .where('status', 'in', OPEN)
          .returning(['address', 'status'])
          .execute();
        if (rows.length === 0) return 0;
        await trx
          .updateTable('messages')
          .set({ expires_at: sql<number>`case when expires_at > ${expiresAt} then expires_at else ${expiresAt} end`, completed_at: null })
          .where('id', '=', id)
          .execute();
        await trx
          .insertInto('events')
          .values({ message_id: id, at: now, kind: 'retry', recipient: null, detail: `${rows.length} recipient(s) made due by an operator` })
          .execute();
        await announce(trx);
        return rows.length;
      });
    },

    async remove(id) {
      return db.transaction().execute(async (trx) => (await deleteMessageRows(trx, [id])) > 0);
    },

    async activeIds(ids) {
      if (ids.length === 0) return new Set();
      const rows = await db
        .selectFrom('messages')
        .select('id')
        .where('id', 'in', ids)
        .where((eb) =>
          eb.or([
            eb('completed_at', 'is', null),
            eb.and([eb('direction', '=', 'inbound'), eb('body_purged_at', 'is', null)]),
            eb.and([eb('direction', '=', 'secure'), eb('id', 'in', eb.selectFrom('secure_messages').select('id').where('shredded_at', 'is', null))]),
          ]),
        )
        .execute();
      return new Set(rows.map((r) => r.id));
    },

    async retainedBodiesBefore(before, limit) {
      const rows = await db
        .selectFrom('messages')
        .select('id')
        .where('direction', '=', 'inbound')
        .where('completed_at', '<', before)
        .where('body_purged_at', 'is', null)
        .limit(limit)
        .execute();
      return rows.map((r) => r.id);
    },

    async markBodiesPurged(ids, now) {
      if (ids.length > 0) await db.updateTable('messages').set({ body_purged_at: now }).where('id', 'in', ids).execute();
    },

    async inboundRecord(id) {
      const row = await db.selectFrom('inbound_messages').selectAll().where('message_id', '=', id).executeTakeFirst();
      return row && { relay: row.relay, authenticationResults: row.authentication_results, authentication: row.authentication, contentHash: row.content_hash };
    },
  };
}

interface LeaseRequest {
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
async function leaseRechecking(db: Db, r: LeaseRequest) {
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
async function leaseSkippingLocked(db: Db, r: LeaseRequest) {
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

async function insertMessage(trx: Transaction<Database>, message: NewMessage): Promise<void> {
  const { envelope } = message;
  await trx
    .insertInto('messages')
    .values({
      id: message.id,
      mail_from: envelope.mailFrom,
      size_bytes: message.sizeBytes,
      received_at: message.receivedAt,
      expires_at: message.expiresAt,
      credential_id: message.credentialId,
      client_ip: message.clientIp,
      env_id: envelope.envId ?? null,
      dsn_ret: envelope.ret ?? null,
      is_dsn: message.isDsn ? 1 : 0,
      completed_at: message.deliveredWith === undefined ? null : message.receivedAt,
      direction: message.direction ?? 'outbound',
      body_purged_at: null,
      tls_required: message.tlsRequired ?? null,
      subject: message.subject ?? null,
    })
    .execute();
  if (message.inbound)
    await trx
      .insertInto('inbound_messages')
      .values({
        message_id: message.id,
        relay: message.inbound.relay,
        authentication_results: message.inbound.authenticationResults,
        authentication: message.inbound.authentication,
        content_hash: message.inbound.contentHash,
      })
      .execute();
  if (message.secure) await insertSecureMessage(trx, message.id, message.envelope.mailFrom, message.receivedAt, message.secure);
  const delivered = message.deliveredWith !== undefined;
  await trx
    .insertInto('recipients')
    .values(
      envelope.recipients.map((r, position) => ({
        message_id: message.id,
        position,
        address: r.address,
        notify: r.notify?.join(',') ?? null,
        orcpt: r.orcpt ?? null,
        status: delivered ? ('delivered' as const) : ('queued' as const),
        attempts: delivered ? 1 : 0,
        next_attempt_at: message.receivedAt,
        last_attempt_at: delivered ? message.receivedAt : null,
        last_reply: message.deliveredWith ?? null,
        lease_owner: null,
        lease_until: null,
      })),
    )
    .execute();
  await trx
    .insertInto('events')
    .values({
      message_id: message.id,
      at: message.receivedAt,
      kind: 'received',
      recipient: null,
      detail: JSON.stringify({ from: envelope.mailFrom, rcpt: envelope.recipients.length, size: message.sizeBytes, ip: message.clientIp }),
    })
    .execute();
  if (message.deliveredWith !== undefined)
    await trx
      .insertInto('events')
      .values(
        envelope.recipients.map((r) => ({
          message_id: message.id,
          at: message.receivedAt,
          kind: 'delivered',
          recipient: r.address,
          detail: message.deliveredWith ?? null,
        })),
      )
      .execute();
}

async function applyUpdate(trx: Transaction<Database>, messageId: string, update: RecipientUpdate, now: number): Promise<void> {
  await trx
    .updateTable('recipients')
    .set((eb) => ({
      status: update.status,
      attempts: eb('attempts', '+', 1),
      next_attempt_at: update.nextAttemptAt,
      last_attempt_at: now,
      last_reply: update.reply,
      lease_owner: null,
      lease_until: null,
    }))
    .where('id', '=', update.id)
    .execute();
  // A reply that already names its check ("dane: …") is not prefixed twice.
  const detail = update.reason && !update.reply.startsWith(`${update.reason}: `) ? `${update.reason}: ${update.reply}` : update.reply;
  const evidence = update.evidence ? JSON.stringify(update.evidence) : null;
  await trx.insertInto('events').values({ message_id: messageId, at: now, kind: update.status, recipient: update.address, detail, evidence }).execute();
}

/** Evidence is written by this store only; a row it cannot read shows as none rather than failing the whole view. */
function parseEvidence(text: string | null): DeliveryEvidence | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as DeliveryEvidence;
  } catch {
    return null;
  }
}

type MessageRow = Database['messages'];
type RecipientRow = Omit<RecipientsTable, 'id'> & { id: number };

function toView(m: MessageRow, recipients: RecipientRow[]): MessageView {
  return {
    id: m.id,
    mailFrom: m.mail_from,
    sizeBytes: Number(m.size_bytes),
    receivedAt: Number(m.received_at),
    expiresAt: Number(m.expires_at),
    completedAt: m.completed_at === null ? null : Number(m.completed_at),
    isDsn: m.is_dsn === 1,
    direction: m.direction,
    recipients: recipients
      .filter((r) => r.message_id === m.id)
      .map((r) => ({
        address: r.address,
        status: r.status,
        attempts: r.attempts,
        nextAttemptAt: r.status === 'queued' || r.status === 'deferred' ? Number(r.next_attempt_at) : null,
        lastAttemptAt: r.last_attempt_at === null ? null : Number(r.last_attempt_at),
        lastReply: r.last_reply,
      })),
  };
}

async function insertSecureMessage(trx: Transaction<Database>, id: string, sender: string, now: number, secure: NewSecureMessage): Promise<void> {
  if (secure.replyRefs.length > 0)
    await trx
      .insertInto('secure_message_refs')
      .values(secure.replyRefs.map((ref_hash) => ({ ref_hash, secure_message_id: id })))
      .onConflict((oc) => oc.column('ref_hash').doNothing())
      .execute();
  await trx
    .insertInto('secure_messages')
    .values({
      id,
      organisation_id: secure.organisationId,
      sender,
      data_key_sealed: secure.dataKeySealed,
      body_iv: secure.bodyIv,
      body_tag: secure.bodyTag,
      meta_sealed: secure.metaSealed,
      created_at: now,
      retain_until: secure.retainUntil,
      revoked_at: null,
      shredded_at: null,
      language: secure.language ?? null,
    })
    .execute();
  await trx
    .insertInto('secure_recipients')
    .values(
      secure.recipients.map((r) => ({
        id: r.id,
        message_id: id,
        address: r.address,
        token_hash: r.tokenHash,
        token_sealed: r.tokenSealed,
        status: 'pending' as const,
        delivered_via: null,
        fallback_reason: null,
        evidence: null,
        notified_at: null,
        opened_at: null,
        replied_at: null,
        bounced_at: null,
        revoked_at: null,
        otp_hash: null,
        otp_expires_at: null,
        otp_sent_at: null,
        otp_attempts: 0,
        otp_failures: 0,
      })),
    )
    .execute();
}
