import type { ConnectorState } from '../model/states.js';

/** The domain of a mailbox that receives inbound mail. */
export interface RecipientOwner {
  domainId: string;
  domain: string;
  connectorState: ConnectorState;
  organisationId: string;
}

/** The reads of src/directory/inbound-recipients.ts: every check reads the store. */
export interface InboundRecipientStore {
  /** The domain of this (lowercase) mailbox: an active address in a verified domain, else an alias of one. */
  ownerOf(mailbox: string): Promise<RecipientOwner | undefined>;
  /** Whether the inbound target serving the domain (its own, else its organisation's) is disabled; false with none. */
  targetDisabled(domainId: string, organisationId: string): Promise<boolean>;
  /** The verified domain of this (lowercase) name. */
  verifiedDomain(name: string): Promise<{ id: string; name: string } | undefined>;
  /** An inbound credential's validity and its domain's connector state (null fields when it has no domain). */
  credential(
    credentialId: string,
  ): Promise<
    | { revokedAt: number | null; expiresAt: number | null; retireAt: number | null; domainName: string | null; connectorState: ConnectorState | null }
    | undefined
  >;
}
