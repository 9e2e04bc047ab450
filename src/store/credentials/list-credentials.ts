import type { PageRequest } from '../../directory/context.js';
import type { CredentialKind, StoredCredential } from '../../directory/credential-model.js';
import type { Db } from '../tables.js';
import { toStored, withDomainName } from './credential-row.js';

/** A page of credentials in creation order (then id), optionally of one kind, and how many there are. */
export async function listCredentials(
  db: Db,
  filter: { kind?: CredentialKind | undefined },
  page: PageRequest,
): Promise<{ items: StoredCredential[]; total: number }> {
  let query = db.selectFrom('credentials');
  if (filter.kind) query = query.where('kind', '=', filter.kind);
  const total = await query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
  const rows = await withDomainName(query).orderBy('credentials.created_at').orderBy('credentials.id').limit(page.limit).offset(page.offset).execute();
  return { items: rows.map(toStored), total: Number(total?.n ?? 0) };
}
