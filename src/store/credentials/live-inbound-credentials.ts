import type { Kysely } from 'kysely';
import type { Database } from '../tables.js';

/**
 * Ids of a domain's inbound credentials that still work or will until their retire-at time:
 * not revoked, not expired, not retired. A retiring credential counts, since the mail
 * server may still use it.
 */
export async function liveInboundCredentials(db: Kysely<Database>, domainId: string, nowMs: number): Promise<string[]> {
  const rows = await db
    .selectFrom('credentials')
    .select('id')
    .where('kind', '=', 'inbound')
    .where('domain_id', '=', domainId)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', nowMs)]))
    .where((eb) => eb.or([eb('retire_at', 'is', null), eb('retire_at', '>', nowMs)]))
    .orderBy('created_at')
    .execute();
  return rows.map((r) => r.id);
}
