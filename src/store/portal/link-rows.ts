import type { PortalMessage, PortalRecipient } from '../../portal/portal-link-store.js';
import type { SecureMessagesTable, SecureRecipientsTable } from '../tables.js';

const num = (value: number | null): number | null => (value === null ? null : Number(value));

export function recipientOfRow(row: SecureRecipientsTable): PortalRecipient {
  return {
    id: row.id,
    messageId: row.message_id,
    address: row.address,
    openedAt: num(row.opened_at),
    revokedAt: num(row.revoked_at),
    otpHash: row.otp_hash,
    otpExpiresAt: num(row.otp_expires_at),
    otpAttempts: Number(row.otp_attempts),
    otpSentAt: num(row.otp_sent_at),
    otpFailures: Number(row.otp_failures),
    lockedAt: num(row.locked_at),
  };
}

export function messageOfRow(row: SecureMessagesTable): PortalMessage {
  return {
    id: row.id,
    organisationId: row.organisation_id,
    sender: row.sender,
    hasDataKey: row.data_key_sealed !== null,
    retainUntil: Number(row.retain_until),
    revokedAt: num(row.revoked_at),
    shreddedAt: num(row.shredded_at),
    language: row.language,
  };
}
