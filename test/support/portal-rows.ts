import { DEFAULT_ORGANISATION_ID } from '../../src/model/organisation.js';
import type { Db } from '../../src/store/tables.js';

/** A secure message row for the store contract, with what the portal reads of it; nothing is sealed for real. */
export async function plantPortalMessage(
  db: Db,
  id: string,
  o: { retainUntil?: number; shreddedAt?: number | null; revokedAt?: number | null; dataKey?: boolean; language?: string | null } = {},
): Promise<void> {
  await db
    .insertInto('secure_messages')
    .values({
      id,
      organisation_id: DEFAULT_ORGANISATION_ID,
      sender: 'app@example.com',
      data_key_sealed: o.dataKey === false ? null : 'sealed-key',
      body_iv: 'iv',
      body_tag: 'tag',
      meta_sealed: 'meta',
      created_at: 1_000,
      retain_until: o.retainUntil ?? 1_000_000,
      revoked_at: o.revokedAt ?? null,
      shredded_at: o.shreddedAt ?? null,
      language: o.language ?? null,
    })
    .execute();
}

export async function plantPortalRecipient(
  db: Db,
  messageId: string,
  id: string,
  o: { address?: string; tokenHash?: string; otpFailures?: number; lockedAt?: number | null } = {},
): Promise<void> {
  await db
    .insertInto('secure_recipients')
    .values({
      id,
      message_id: messageId,
      address: o.address ?? `${id}@example.net`,
      token_hash: o.tokenHash ?? `hash-${id}`,
      token_sealed: null,
      status: 'notified',
      delivered_via: null,
      fallback_reason: null,
      evidence: null,
      notified_at: 1_000,
      opened_at: null,
      replied_at: null,
      bounced_at: null,
      revoked_at: null,
      otp_hash: null,
      otp_expires_at: null,
      otp_attempts: 0,
      otp_sent_at: null,
      otp_failures: o.otpFailures ?? 0,
      locked_at: o.lockedAt ?? null,
    })
    .execute();
}
