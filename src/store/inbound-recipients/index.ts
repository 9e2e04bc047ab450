import type { InboundRecipientStore } from '../../directory/inbound-recipient-store.js';
import type { Db } from '../tables.js';
import { findRecipientOwner } from './find-recipient-owner.js';

export function sqlInboundRecipientStore(db: Db): InboundRecipientStore {
  return {
    ownerOf: (mailbox) => findRecipientOwner(db, mailbox),
    // The domain's own target wins over its organisation's (as targetForDomain in src/store/inbound-targets/target-for-domain.ts).
    async targetDisabled(domainId, organisationId) {
      const rows = await db
        .selectFrom('inbound_targets')
        .select(['domain_id', 'disabled_at'])
        .where('scope', 'in', [`domain:${domainId}`, `organisation:${organisationId}`])
        .execute();
      const target = rows.find((r) => r.domain_id === domainId) ?? rows[0];
      return (target?.disabled_at ?? null) !== null;
    },
    verifiedDomain: (name) => db.selectFrom('domains').select(['id', 'name']).where('name', '=', name).where('status', '=', 'verified').executeTakeFirst(),
    async credential(credentialId) {
      const row = await db
        .selectFrom('credentials')
        .leftJoin('domains', 'domains.id', 'credentials.domain_id')
        .select(['credentials.revoked_at', 'credentials.expires_at', 'credentials.retire_at', 'domains.name', 'domains.connector_state'])
        .where('credentials.id', '=', credentialId)
        .executeTakeFirst();
      return (
        row && {
          revokedAt: row.revoked_at,
          expiresAt: row.expires_at,
          retireAt: row.retire_at,
          domainName: row.name,
          connectorState: row.connector_state,
        }
      );
    },
  };
}
