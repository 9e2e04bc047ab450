import { SmtpReply } from '../model/smtp-reply.js';
import type { ConnectorState } from '../model/states.js';
import { credentialState } from './credential-model.js';
import type { InboundRecipientStore } from './inbound-recipient-store.js';

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
export async function lookUpInboundRecipient(recipients: InboundRecipientStore, address: string): Promise<InboundRecipient> {
  const wanted = address.toLowerCase();
  const domainName = wanted.slice(wanted.lastIndexOf('@') + 1);
  const owner = await recipients.ownerOf(wanted);
  if (owner) return { kind: 'known', ...owner, targetDisabled: await recipients.targetDisabled(owner.domainId, owner.organisationId) };
  const domain = await recipients.verifiedDomain(domainName);
  return domain ? { kind: 'unknown-address', domainId: domain.id, domain: domain.name } : { kind: 'foreign' };
}

/**
 * Checked at each MAIL FROM of an inbound session, so a credential revoked (or a domain
 * disconnected) after AUTH stops the next transaction, as for submission. The domain's state
 * comes first, so a completed disconnect (which revokes the credentials) keeps its own answer.
 * A withdrawn relay credential is 421 and close, not 550: the organisation's server keeps the
 * customer's mail queued instead of bouncing it, and meets 535 at its next AUTH.
 */
export async function inboundCredentialObjection(recipients: InboundRecipientStore, credentialId: string, nowMs: number): Promise<SmtpReply | undefined> {
  const row = await recipients.credential(credentialId);
  if (!row) return SmtpReply.relayCredentialWithdrawn(`no credential ${credentialId}`);
  if (row.connectorState === 'draining') return SmtpReply.domainDisconnecting(row.domainName ?? '');
  if (row.connectorState === 'disconnected') return SmtpReply.domainDisconnected(row.domainName ?? '');
  const state = credentialState({ revoked_at: row.revokedAt, expires_at: row.expiresAt, retire_at: row.retireAt }, nowMs);
  if (state !== 'active' && state !== 'retiring') return SmtpReply.relayCredentialWithdrawn(`credential ${credentialId} is ${state}`);
  return undefined;
}
