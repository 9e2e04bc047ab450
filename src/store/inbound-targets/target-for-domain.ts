import type { StoredInboundTarget } from '../../directory/inbound-target-store.js';
import type { Db } from '../tables.js';
import { toStored, withDomainName } from './inbound-target-row.js';

/** The target for mail to a domain: the domain's own, else its organisation's; undefined when neither is set or the domain is unknown. */
export async function targetForDomain(db: Db, domainId: string): Promise<StoredInboundTarget | undefined> {
  const domain = await db.selectFrom('domains').select('organisation_id').where('id', '=', domainId).executeTakeFirst();
  if (!domain) return undefined;
  const rows = await withDomainName(db.selectFrom('inbound_targets'))
    .where('inbound_targets.scope', 'in', [`domain:${domainId}`, `organisation:${domain.organisation_id}`])
    .execute();
  const row = rows.find((r) => r.domain_id === domainId) ?? rows[0];
  return row && toStored(row);
}
