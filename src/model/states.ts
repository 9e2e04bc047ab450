// The closed sets of values the store's columns hold and the layers above name: declared here,
// below both, so that nothing outside src/store needs the row types of src/store/tables.ts.

/** What a route does with a sender's mail. */
export type RouteAction = 'secure' | 'relay' | 'reject';

/** A domain's connector state: a disconnect drains, then revokes. */
export type ConnectorState = 'connected' | 'draining' | 'disconnected';

/** `secure`: the body is a secure message's ciphertext, delivered per recipient by the secure courier. */
export type MessageDirection = 'outbound' | 'inbound' | 'secure';

export type InboundTargetKind = 'webhook' | 'smtp';

export type Leg = 'outbound' | 'inbound';
export type LegCheckStatus = 'pending' | 'verified' | 'failed';

/** `failed`: inbound mail the application did not take before expiry, parked with its body until an operator retries or removes it. */
export type RecipientStatus = 'queued' | 'deferred' | 'delivered' | 'bounced' | 'failed';

/** The operator's TLS requirement for mail to one recipient domain (`relaygate tls-policy`). */
export type TlsRequirement = 'tls' | 'dane' | 'verified';

export type DkimKeyState = 'pending' | 'active' | 'retiring' | 'retired';

export type SecureRecipientStatus = 'pending' | 'notified' | 'delivered' | 'bounced';
