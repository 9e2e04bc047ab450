import type { ConnectorDomain } from '../../connector/connector-store.js';
import type { Db } from '../tables.js';

/** A claimed domain by name (any case, trailing dot or not) or by id. */
export async function findConnectorDomain(db: Db, nameOrId: string): Promise<ConnectorDomain | undefined> {
  const name = nameOrId.trim().toLowerCase().replace(/\.$/, '');
  const row = await db
    .selectFrom('domains')
    .select(['id', 'name', 'status', 'connector_state', 'connector_changed_at'])
    .where((eb) => eb.or([eb('name', '=', name), eb('id', '=', nameOrId.trim())]))
    .executeTakeFirst();
  return (
    row && {
      id: row.id,
      name: row.name,
      status: row.status,
      connectorState: row.connector_state,
      connectorChangedAt: row.connector_changed_at === null ? null : Number(row.connector_changed_at),
    }
  );
}

/** The support address first, then the oldest. */
export async function verificationAddress(db: Db, domainId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('addresses')
    .select('address')
    .where('domain_id', '=', domainId)
    .orderBy((eb) => eb.case().when('kind', '=', 'support').then(0).else(1).end())
    .orderBy('created_at')
    .executeTakeFirst();
  return row?.address;
}

/** Connected, verified domains with a check, and when their newest check started: whose scheduled round trip is due. */
export async function checkedDomains(db: Db): Promise<{ id: string; name: string; lastStartedAt: number }[]> {
  const rows = await db
    .selectFrom('domains')
    .innerJoin('leg_checks', 'leg_checks.domain_id', 'domains.id')
    .select(['domains.id', 'domains.name', (eb) => eb.fn.max('leg_checks.started_at').as('last')])
    .where('domains.connector_state', '=', 'connected')
    .where('domains.status', '=', 'verified')
    .groupBy(['domains.id', 'domains.name'])
    .execute();
  return rows.map((r) => ({ id: r.id, name: r.name, lastStartedAt: Number(r.last) }));
}
