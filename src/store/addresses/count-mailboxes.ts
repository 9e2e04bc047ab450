import type { Db } from '../tables.js';

/** Aliases count with addresses: both are mailboxes the domain's senders may use. */
export async function countMailboxes(db: Db, domain: { id: string; name: string }): Promise<number> {
  const count = async (query: Promise<{ n: number } | undefined>) => Number((await query)?.n ?? 0);
  const addresses = await count(
    db
      .selectFrom('addresses')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('domain_id', '=', domain.id)
      .executeTakeFirst(),
  );
  // Exact: a validated domain name holds no LIKE wildcard (% or _).
  const aliases = await count(
    db
      .selectFrom('address_aliases')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('alias', 'like', `%@${domain.name}`)
      .executeTakeFirst(),
  );
  return addresses + aliases;
}
