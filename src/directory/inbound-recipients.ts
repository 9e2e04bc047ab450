import { SmtpReply } from '../model/smtp-reply.js';
import type { ConnectorState, Db } from '../store/tables.js';
import { credentialState } from './credential-model.js';
import { targetRowFor } from './inbound-targets.js';

/** A recipient of inbound mail as the directory knows it. */
export type InboundRecipient =
  | {
      kind: 'known';
      domainId: string;
      domain: string;
      connectorState: ConnectorState;
      organisationId: string;
      /** Its inbound target is disabled (the webhook answered 410 Gone): new mail must wait at the sender. */
      targetDisabled: boolean;
    }
  /** In a verified domain of ours, but no address or alias of that name. */
  | { kind: 'unknown-address'; domainId: string; domain: string }
  /** Not a domain we receive for. */
  | { kind: 'foreign' };

/**
 * Looks a recipient up among the addresses and aliases of verified domains. Addresses are
 * stored lower-cased; the local part is compared without case too, as every mail server a
 * support address lives on does in practice (RFC 5321 §2.4 leaves it to the receiver).
 */
export async function lookUpInboundRecipient(db: Db, address: string): Promise<InboundRecipient> {
  const wanted = address.toLowerCase();
  const domainName = wanted.slice(wanted.lastIndexOf('@') + 1);
  const owner =
    (await db
      .selectFrom('addresses')
      .innerJoin('domains', 'domains.id', 'addresses.domain_id')
      .select(['domains.id as domainId', 'domains.name as domain', 'domains.connector_state as connectorState', 'domains.organisation_id as organisationId'])
      .where('addresses.address', '=', wanted)
      .where('domains.status', '=', 'verified')
      // A deactivated directory user's mailbox is unknown until it is active again.
      .where('addresses.suspended_at', 'is', null)
      .executeTakeFirst()) ??
    (await db
      .selectFrom('address_aliases')
      .innerJoin('addresses', 'addresses.id', 'address_aliases.address_id')
      .innerJoin('domains', 'domains.id', 'addresses.domain_id')
      .select(['domains.id as domainId', 'domains.name as domain', 'domains.connector_state as connectorState', 'domains.organisation_id as organisationId'])
      .where('address_aliases.alias', '=', wanted)
      .where('domains.status', '=', 'verified')
      // A deactivated directory user's mailbox is unknown until it is active again.
      .where('addresses.suspended_at', 'is', null)
      .executeTakeFirst());
  if (owner) {
    const target = await targetRowFor(db, owner.domainId, owner.organisationId);
    return { kind: 'known', ...owner, targetDisabled: (target?.disabled_at ?? null) !== null };
  }
  const domain = await db.selectFrom('domains').select(['id', 'name']).where('name', '=', domainName).where('status', '=', 'verified').executeTakeFirst();
  return domain ? { kind: 'unknown-address', domainId: domain.id, domain: domain.name } : { kind: 'foreign' };
}

/**
 * Checked at each MAIL FROM of an inbound session, so a credential revoked (or a domain
 * disconnected) after AUTH stops the next transaction, as for submission. The domain's state
 * comes first, so a completed disconnect (which revokes the credentials) keeps its own answer.
 * A withdrawn relay credential is 421 and close, not 550: the organisation's server keeps the
 * customer's mail queued instead of bouncing it, and meets 535 at its next AUTH.
 */
export async function inboundCredentialObjection(db: Db, credentialId: string, nowMs: number): Promise<SmtpReply | undefined> {
  const row = await db
    .selectFrom('credentials')
    .leftJoin('domains', 'domains.id', 'credentials.domain_id')
    .select(['credentials.revoked_at', 'credentials.expires_at', 'credentials.retire_at', 'domains.name', 'domains.connector_state'])
    .where('credentials.id', '=', credentialId)
    .executeTakeFirst();
  if (!row) return SmtpReply.relayCredentialWithdrawn(`no credential ${credentialId}`);
  if (row.connector_state === 'draining') return SmtpReply.domainDisconnecting(row.name ?? '');
  if (row.connector_state === 'disconnected') return SmtpReply.domainDisconnected(row.name ?? '');
  const state = credentialState(row, nowMs);
  if (state !== 'active' && state !== 'retiring') return SmtpReply.relayCredentialWithdrawn(`credential ${credentialId} is ${state}`);
  return undefined;
}
