import type { SelectQueryBuilder } from 'kysely';
import type { StoredInboundTarget } from '../../directory/inbound-target-store.js';
import type { Database, InboundTargetsTable } from '../tables.js';

/** Every target read carries its domain's name. */
export function withDomainName(query: SelectQueryBuilder<Database, 'inbound_targets', object>) {
  return query.leftJoin('domains', 'domains.id', 'inbound_targets.domain_id').selectAll('inbound_targets').select('domains.name as domain_name');
}

export function toStored(row: InboundTargetsTable & { domain_name: string | null }): StoredInboundTarget {
  return {
    id: row.id,
    organisationId: row.organisation_id,
    scope: row.scope,
    domainId: row.domain_id,
    domain: row.domain_name,
    kind: row.kind,
    url: row.url,
    forwardTo: row.forward_to,
    synchronous: row.synchronous === 1,
    secretSealed: row.secret_sealed,
    previousSecretSealed: row.previous_secret_sealed,
    previousSecretUntil: nullableNumber(row.previous_secret_until),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    disabledAt: nullableNumber(row.disabled_at),
    disabledReason: row.disabled_reason,
  };
}

export function toRow(target: StoredInboundTarget): InboundTargetsTable {
  return {
    id: target.id,
    organisation_id: target.organisationId,
    scope: target.scope,
    domain_id: target.domainId,
    kind: target.kind,
    url: target.url,
    forward_to: target.forwardTo,
    synchronous: target.synchronous ? 1 : 0,
    secret_sealed: target.secretSealed,
    previous_secret_sealed: target.previousSecretSealed,
    previous_secret_until: target.previousSecretUntil,
    created_at: target.createdAt,
    updated_at: target.updatedAt,
    disabled_at: target.disabledAt,
    disabled_reason: target.disabledReason,
  };
}

function nullableNumber(value: number | null): number | null {
  return value === null ? null : Number(value);
}
