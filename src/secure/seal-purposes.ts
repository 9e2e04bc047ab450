/**
 * The purpose each kind of value is sealed under by the key-encryption key (bound into the
 * AAD with the row id, key-encryption.ts): a value opens only as what it was sealed as, and a
 * purpose changed here would leave every stored value of its kind unopenable. One small module,
 * so that the key guard run at every opening of the store (sealed-columns.ts) does not load
 * the directory, DKIM and delivery code that seal them.
 */
export const CONNECTION_SECRET_PURPOSE = 'connection-secret';
/** The private key of a connection's TLS client certificate. */
export const CONNECTION_CLIENT_KEY_PURPOSE = 'connection-client-key';
export const WEBHOOK_SECRET_PURPOSE = 'webhook-secret';
export const DKIM_KEY_PURPOSE = 'dkim-private-key';
/** The data keys of secure messages. */
export const DATA_KEY_PURPOSE = 'secure-data-key';
/** The portal tokens kept for retried notifications. */
export const PORTAL_TOKEN_PURPOSE = 'portal-token';
/** The data keys of sealed bodies (sealing-spool.ts). */
export const SEALED_BODY_KEY_PURPOSE = 'sealed-body-key';
/** The password a directory pull binds to LDAP with. */
export const LDAP_BIND_PASSWORD_PURPOSE = 'ldap-bind-password';
/** The private key of the client certificate a directory pull presents (Google's Secure LDAP). */
export const LDAP_CLIENT_KEY_PURPOSE = 'ldap-client-key';
