import type { StoredApiToken } from '../../directory/api-token-store.js';
import type { PageRequest } from '../../directory/context.js';
import type { Db } from '../tables.js';
import { toStored } from './api-token-row.js';

/** A page of tokens in creation order (then id), and how many there are. */
export async function listApiTokens(db: Db, page: PageRequest): Promise<{ items: StoredApiToken[]; total: number }> {
  const total = await db
    .selectFrom('api_tokens')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirst();
  const rows = await db.selectFrom('api_tokens').selectAll().orderBy('created_at').orderBy('id').limit(page.limit).offset(page.offset).execute();
  return { items: rows.map(toStored), total: Number(total?.n ?? 0) };
}
