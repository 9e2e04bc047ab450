import type { Db } from '../tables.js';

/** Messages with a recipient still queued or deferred to or from the domain: what a disconnect waits for. */
export async function queuedForDomain(db: Db, domain: string): Promise<number> {
  const suffix = `%@${domain}`;
  const row = await db
    .selectFrom('recipients')
    .innerJoin('messages', 'messages.id', 'recipients.message_id')
    .select((eb) => eb.fn.count<number>('messages.id').distinct().as('n'))
    .where('recipients.status', 'in', ['queued', 'deferred'])
    // Envelope addresses keep the case they arrived in; LIKE ignores it on SQLite but not on PostgreSQL.
    .where((eb) =>
      eb.or([eb(eb.fn<string>('lower', ['recipients.address']), 'like', suffix), eb(eb.fn<string>('lower', ['messages.mail_from']), 'like', suffix)]),
    )
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}
