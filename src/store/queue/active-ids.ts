import type { Db } from '../tables.js';

/** Of `ids`, the messages whose body is still needed: open, an inbound body kept for download, or a secure message not shredded. */
export async function activeIds(db: Db, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .selectFrom('messages')
    .select('id')
    .where('id', 'in', ids)
    .where((eb) =>
      eb.or([
        eb('completed_at', 'is', null),
        eb.and([eb('direction', '=', 'inbound'), eb('body_purged_at', 'is', null)]),
        eb.and([eb('direction', '=', 'secure'), eb('id', 'in', eb.selectFrom('secure_messages').select('id').where('shredded_at', 'is', null))]),
      ]),
    )
    .execute();
  return new Set(rows.map((r) => r.id));
}
