import type { ExpressionBuilder } from 'kysely';
import type { DomainRemoval } from '../../directory/domain-store.js';
import type { Database, Db } from '../tables.js';

/**
 * Removes the domain with its addresses and every alias in it, and revokes its inbound
 * credentials: none may outlive the claim. Runs inside the caller's transaction.
 */
export async function removeDomain(trx: Db, domain: { id: string; name: string }, now: number): Promise<DomainRemoval> {
  const addresses = (await trx.selectFrom('addresses').select('address').where('domain_id', '=', domain.id).orderBy('address').execute()).map((a) => a.address);
  const aliases = (await trx.selectFrom('address_aliases').select('alias').where(touchingDomain(domain)).orderBy('alias').execute()).map((a) => a.alias);
  await trx.deleteFrom('address_aliases').where(touchingDomain(domain)).execute();
  await trx.deleteFrom('addresses').where('domain_id', '=', domain.id).execute();
  const revokedCredentials = (
    await trx.updateTable('credentials').set({ revoked_at: now }).where('domain_id', '=', domain.id).where('revoked_at', 'is', null).returning('id').execute()
  ).map((c) => c.id);
  await trx.deleteFrom('domains').where('id', '=', domain.id).execute();
  return { addresses, aliases, revokedCredentials };
}

/**
 * Aliases in the domain (of addresses anywhere) or of the domain's addresses. The LIKE
 * pattern is exact: a validated domain name holds no `%` or `_`.
 */
function touchingDomain(domain: { id: string; name: string }) {
  return (eb: ExpressionBuilder<Database, 'address_aliases'>) =>
    eb.or([eb('alias', 'like', `%@${domain.name}`), eb('address_id', 'in', eb.selectFrom('addresses').select('id').where('domain_id', '=', domain.id))]);
}
