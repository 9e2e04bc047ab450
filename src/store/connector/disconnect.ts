import type { Db } from '../tables.js';

/**
 * Ids of a domain's inbound credentials that still work or will until their retire-at time:
 * not revoked, not expired, not retired. A retiring credential counts, since the mail
 * server may still use it.
 */
export async function liveInboundCredentials(db: Db, domainId: string, now: number): Promise<string[]> {
  const rows = await db
    .selectFrom('credentials')
    .select('id')
    .where('kind', '=', 'inbound')
    .where('domain_id', '=', domainId)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .where((eb) => eb.or([eb('retire_at', 'is', null), eb('retire_at', '>', now)]))
    .orderBy('created_at')
    .execute();
  return rows.map((r) => r.id);
}

/** The connections scoped to the domain or to one of its addresses, removed; their ids. */
export async function removeConnectionsOf(db: Db, domain: string): Promise<string[]> {
  const rows = await db
    .deleteFrom('connections')
    .where((eb) => eb.or([eb('scope', '=', domain), eb('scope', 'like', `%@${domain}`)]))
    .returning('id')
    .execute();
  return rows.map((c) => c.id);
}
