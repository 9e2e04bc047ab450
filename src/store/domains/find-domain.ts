import type { StoredDomain } from '../../directory/domain-store.js';
import type { ProofCheck } from '../../dns/index.js';
import type { Database, Db } from '../tables.js';

type DomainRow = Database['domains'] & { address_count?: number | null };

/** Domains with the count of their addresses (aliases not counted). */
export function withAddressCount(db: Db) {
  return db
    .selectFrom('domains')
    .selectAll('domains')
    .select((eb) => eb.selectFrom('addresses').whereRef('addresses.domain_id', '=', 'domains.id').select(eb.fn.countAll<number>().as('n')).as('address_count'));
}

export async function findDomain(db: Db, name: string): Promise<StoredDomain | undefined> {
  const row = await withAddressCount(db).where('name', '=', name).executeTakeFirst();
  return row ? toStoredDomain(row) : undefined;
}

export function toStoredDomain(row: DomainRow): StoredDomain {
  return {
    id: row.id,
    name: row.name,
    organisationId: row.organisation_id,
    status: row.status,
    verificationToken: row.verification_token,
    createdAt: Number(row.created_at),
    verifiedAt: row.verified_at === null ? null : Number(row.verified_at),
    verifiedBy: row.verified_by,
    lastCheck: row.last_check_at === null || row.last_check_result === null ? null : { at: Number(row.last_check_at), ...parseCheck(row.last_check_result) },
    addressCount: Number(row.address_count ?? 0),
    directDelivery: {
      enabled: Number(row.direct_delivery) === 1,
      changedAt: row.direct_delivery_changed_at === null ? null : Number(row.direct_delivery_changed_at),
    },
  };
}

export function checkColumns(check: ProofCheck, now: number) {
  return { last_check_at: now, last_check_result: JSON.stringify(check) };
}

function parseCheck(text: string): ProofCheck {
  const parsed = JSON.parse(text) as Partial<ProofCheck>;
  return { outcome: parsed.outcome ?? 'dns_error', detail: parsed.detail ?? '', found: parsed.found ?? [] };
}
