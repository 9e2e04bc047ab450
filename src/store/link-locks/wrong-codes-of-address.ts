import { sql } from 'kysely';
import type { Db } from '../tables.js';

export async function wrongCodesOfAddress(db: Db, address: string, now: number): Promise<number> {
  const row = await db
    .selectFrom('secure_recipients as r')
    .innerJoin('secure_messages as m', 'm.id', 'r.message_id')
    .select((eb) => eb.fn.sum<number | null>('r.otp_failures').as('total'))
    .where(sql<string>`lower(r.address)`, '=', address.toLowerCase())
    .where('m.shredded_at', 'is', null)
    .where('m.retain_until', '>', now)
    .executeTakeFirst();
  return Number(row?.total ?? 0);
}
