import { DEFAULT_ORGANISATION_ID } from '../model/organisation.js';
import type { RouteTables } from '../policy/route-policy.js';
import type { DirectoryContext } from './context.js';
import { loadRouteTable } from './routes.js';

/** The route tables a transaction is classified with (src/policy/route-policy.ts), and the secure settings its message takes. */
export function routeLookup(ctx: Pick<DirectoryContext, 'db'>): RouteTables & { secureRetentionMs(organisationId: string): Promise<number> } {
  const { db } = ctx;
  return {
    /** The routes of the credential's organisation; the default organisation's when there is none. */
    async organisationOf(credentialId) {
      if (!credentialId) return DEFAULT_ORGANISATION_ID;
      const row = await db.selectFrom('credentials').select('organisation_id').where('id', '=', credentialId).executeTakeFirst();
      return row?.organisation_id ?? DEFAULT_ORGANISATION_ID;
    },
    tableOf: (organisationId) => loadRouteTable(db, organisationId),
    async secureRetentionMs(organisationId) {
      const org = await db.selectFrom('organisations').select('secure_retention_days').where('id', '=', organisationId).executeTakeFirst();
      return (org?.secure_retention_days ?? 90) * 86_400_000;
    },
  };
}
