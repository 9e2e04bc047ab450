import type { Insertable, Transaction } from 'kysely';
import type { NewMessage, NewSecureMessage } from '../../queue/queue-store.js';
import { prepared } from '../prepared.js';
import type { Database, EventsTable, MessagesTable, RecipientsTable } from '../tables.js';

// The statements every accepted message runs, built once (prepared.ts).
type NewMessageRow = Required<Insertable<MessagesTable>>;
const insertMessageRow = prepared<NewMessageRow>(
  [
    'id',
    'mail_from',
    'size_bytes',
    'received_at',
    'expires_at',
    'credential_id',
    'client_ip',
    'env_id',
    'dsn_ret',
    'is_dsn',
    'completed_at',
    'direction',
    'body_purged_at',
    'tls_required',
    'subject',
  ],
  (db, row) => db.insertInto('messages').values(row),
);

type NewRecipientRow = Required<Omit<Insertable<RecipientsTable>, 'id'>>;
const insertRecipientRow = prepared<NewRecipientRow>(
  [
    'message_id',
    'position',
    'address',
    'notify',
    'orcpt',
    'status',
    'attempts',
    'next_attempt_at',
    'last_attempt_at',
    'last_reply',
    'lease_owner',
    'lease_until',
  ],
  (db, row) => db.insertInto('recipients').values(row),
);

/** An event of the message log; recordOutcomes writes one per recipient attempt. */
export const insertEventRow = prepared<Required<Omit<Insertable<EventsTable>, 'id'>>>(
  ['message_id', 'at', 'kind', 'recipient', 'detail', 'evidence'],
  (db, row) => db.insertInto('events').values(row),
);

/** A message with its recipients and its first events; a secure message with its sealed row and recipients. */
export async function insertMessage(trx: Transaction<Database>, message: NewMessage): Promise<void> {
  const { envelope } = message;
  await insertMessageRow(trx, {
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
  });
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
  const rows = envelope.recipients.map(
    (r, position): NewRecipientRow => ({
      message_id: message.id,
      position,
      address: r.address,
      notify: r.notify?.join(',') ?? null,
      orcpt: r.orcpt ?? null,
      status: delivered ? 'delivered' : 'queued',
      attempts: delivered ? 1 : 0,
      next_attempt_at: message.receivedAt,
      last_attempt_at: delivered ? message.receivedAt : null,
      last_reply: message.deliveredWith ?? null,
      lease_owner: null,
      lease_until: null,
    }),
  );
  // Most mail has one recipient: that insert is built once; a list's SQL depends on its length.
  if (rows.length === 1 && rows[0]) await insertRecipientRow(trx, rows[0]);
  else await trx.insertInto('recipients').values(rows).execute();
  await insertEventRow(trx, {
    message_id: message.id,
    at: message.receivedAt,
    kind: 'received',
    recipient: null,
    detail: JSON.stringify({ from: envelope.mailFrom, rcpt: envelope.recipients.length, size: message.sizeBytes, ip: message.clientIp }),
    evidence: null,
  });
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
