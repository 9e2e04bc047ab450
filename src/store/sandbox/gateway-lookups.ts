import type { Db } from '../tables.js';

/** How the organisation's server would authenticate when the sandbox relays back: its newest inbound credential not revoked. */
export async function newestInboundCredential(db: Db, domain: string): Promise<string | undefined> {
  const credential = await db
    .selectFrom('credentials')
    .innerJoin('domains', 'domains.id', 'credentials.domain_id')
    .select('credentials.id')
    .where('domains.name', '=', domain)
    .where('credentials.kind', '=', 'inbound')
    .where('credentials.revoked_at', 'is', null)
    .orderBy('credentials.created_at', 'desc')
    .executeTakeFirst();
  return credential?.id;
}

/** The record a DKIM verifier would find in DNS, from the keys this gateway holds. */
export async function dkimPublicRecord(db: Db, selector: string, domain: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('dkim_keys')
    .innerJoin('domains', 'domains.id', 'dkim_keys.domain_id')
    .select('dkim_keys.public_record')
    .where('dkim_keys.selector', '=', selector)
    .where('domains.name', '=', domain)
    .executeTakeFirst();
  return row?.public_record;
}
