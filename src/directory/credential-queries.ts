import type { Kysely } from 'kysely';
import type { Database } from '../store/tables.js';

/** The lookups that place a new credential; run inside its creating transaction. */

export function findOrganisation(db: Kysely<Database>, id: string) {
  return db.selectFrom('organisations').select('id').where('id', '=', id).executeTakeFirst();
}

/** A claimed domain by name (any case, trailing dot or not) or by id. */
export function findDomain(db: Kysely<Database>, nameOrId: string) {
  const name = nameOrId.trim().toLowerCase().replace(/\.$/, '');
  return db
    .selectFrom('domains')
    .select(['id', 'name', 'organisation_id'])
    .where((eb) => eb.or([eb('name', '=', name), eb('id', '=', nameOrId.trim())]))
    .executeTakeFirst();
}

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
