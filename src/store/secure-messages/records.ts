import type { SecureMessageRecord, SecureRecipientRecord } from '../../secure/secure-message-store.js';
import type { SecureMessagesTable, SecureRecipientsTable } from '../tables.js';

const ms = (value: number | null): number | null => (value === null ? null : Number(value));

export function messageRecord(row: SecureMessagesTable): SecureMessageRecord {
  return {
    id: row.id,
    organisationId: row.organisation_id,
    sender: row.sender,
    dataKeySealed: row.data_key_sealed,
    bodyIv: row.body_iv,
    bodyTag: row.body_tag,
    metaSealed: row.meta_sealed,
    createdAt: Number(row.created_at),
    retainUntil: Number(row.retain_until),
    revokedAt: ms(row.revoked_at),
    shreddedAt: ms(row.shredded_at),
    language: row.language,
  };
}

export function recipientRecord(row: SecureRecipientsTable): SecureRecipientRecord {
  return {
    id: row.id,
    messageId: row.message_id,
    address: row.address,
    status: row.status,
    deliveredVia: row.delivered_via,
    fallbackReason: row.fallback_reason,
    evidence: row.evidence,
    notifiedAt: ms(row.notified_at),
    openedAt: ms(row.opened_at),
    repliedAt: ms(row.replied_at),
    bouncedAt: ms(row.bounced_at),
    revokedAt: ms(row.revoked_at),
    lockedAt: ms(row.locked_at),
    wrongCodes: Number(row.otp_failures),
  };
}
