import type { SenderStore } from '../../directory/sender-store.js';
import type { Db } from '../tables.js';

export function sqlSenderStore(db: Db): SenderStore {
  return {
    async submitter(credentialId) {
      const row = await db
        .selectFrom('credentials')
        .select(['kind', 'organisation_id', 'allowed_senders', 'revoked_at', 'expires_at', 'retire_at'])
        .where('id', '=', credentialId)
        .executeTakeFirst();
      return (
        row && {
          kind: row.kind,
          organisationId: row.organisation_id,
          allowedSendersJson: row.allowed_senders,
          revokedAt: row.revoked_at,
          expiresAt: row.expires_at,
          retireAt: row.retire_at,
        }
      );
    },
    async domainsNamed(names) {
      if (names.length === 0) return [];
      const rows = await db.selectFrom('domains').select(['name', 'organisation_id', 'status', 'connector_state']).where('name', 'in', names).execute();
      return rows.map((r) => ({ name: r.name, organisationId: r.organisation_id, status: r.status, connectorState: r.connector_state }));
    },
  };
}
