import type { DirectDeliveryDomains, SecureDeliveryStore, SecureRecipientProgress } from '../../delivery/secure-delivery-store.js';
import { sqlSecureSettingsStore } from '../secure-settings/index.js';
import type { Db } from '../tables.js';

function columns(p: SecureRecipientProgress) {
  return {
    ...(p.status !== undefined ? { status: p.status } : {}),
    ...(p.deliveredVia !== undefined ? { delivered_via: p.deliveredVia } : {}),
    ...(p.evidence !== undefined ? { evidence: p.evidence } : {}),
    ...(p.fallbackReason !== undefined ? { fallback_reason: p.fallbackReason } : {}),
    ...(p.notifiedAt !== undefined ? { notified_at: p.notifiedAt } : {}),
    ...(p.bouncedAt !== undefined ? { bounced_at: p.bouncedAt } : {}),
  };
}

/** The secure courier's reads and writes of secure_recipients and secure_message_refs, with the organisation's settings. */
export function sqlSecureDeliveryStore(db: Db): SecureDeliveryStore & DirectDeliveryDomains {
  return {
    settings: (organisationId) => sqlSecureSettingsStore(db).settings(organisationId),
    async recipients(messageId) {
      const rows = await db
        .selectFrom('secure_recipients')
        .select(['id', 'address', 'token_sealed', 'revoked_at'])
        .where('message_id', '=', messageId)
        .execute();
      return rows.map((r) => ({ id: r.id, address: r.address, tokenSealed: r.token_sealed, revokedAt: r.revoked_at === null ? null : Number(r.revoked_at) }));
    },
    async recordProgress(recipientId, progress) {
      await db.updateTable('secure_recipients').set(columns(progress)).where('id', '=', recipientId).execute();
    },
    async linkReference(refHash, secureMessageId) {
      await db
        .insertInto('secure_message_refs')
        .values({ ref_hash: refHash, secure_message_id: secureMessageId })
        .onConflict((oc) => oc.column('ref_hash').doNothing())
        .execute();
    },
    async isFlagged(domain) {
      const row = await db
        .selectFrom('domains')
        .select('id')
        .where('name', '=', domain)
        .where('status', '=', 'verified')
        .where('direct_delivery', '=', 1)
        .executeTakeFirst();
      return row !== undefined;
    },
  };
}
