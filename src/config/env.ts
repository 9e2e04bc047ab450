/**
 * Every configuration key that an environment variable can set. Names follow the key
 * (`smtp.maxRecipients` → RELAYGATE_SMTP_MAX_RECIPIENTS) except where a shorter name is
 * the one operators are told to use.
 */
export const ENV_KEYS: Readonly<Record<string, string>> = {
  RELAYGATE_DATA_DIR: 'dataDir',
  RELAYGATE_DATABASE_URL: 'databaseUrl',
  RELAYGATE_ROLE: 'role',
  RELAYGATE_CREDENTIAL_HASH_KEY: 'credentialHashKey',
  RELAYGATE_HOSTNAME: 'hostname',
  RELAYGATE_SMTP_HOST: 'smtp.listenHost',
  RELAYGATE_SMTP_PORT: 'smtp.port',
  RELAYGATE_SMTPS_PORT: 'smtp.smtpsPort',
  RELAYGATE_SMTP_MAX_MESSAGE_BYTES: 'smtp.maxMessageBytes',
  RELAYGATE_SMTP_MAX_RECIPIENTS: 'smtp.maxRecipients',
  RELAYGATE_SMTP_MAX_CONNECTIONS: 'smtp.maxConnections',
  RELAYGATE_SMTP_IDLE_TIMEOUT: 'smtp.idleTimeout',
  RELAYGATE_SMTP_COMMAND_TIMEOUT: 'smtp.commandTimeout',
  RELAYGATE_SMTP_DATA_TIMEOUT: 'smtp.dataTimeout',
  RELAYGATE_SMTP_AUTH_FAILURES_PER_IP: 'smtp.authFailuresPerIp',
  RELAYGATE_SMTP_AUTH_FAILURES_PER_USER: 'smtp.authFailuresPerUser',
  RELAYGATE_SMTP_AUTH_FAILURE_WINDOW: 'smtp.authFailureWindow',
  RELAYGATE_HTTP_HOST: 'http.listenHost',
  RELAYGATE_HTTP_PORT: 'http.port',
  RELAYGATE_TLS_CERT: 'tls.certFile',
  RELAYGATE_TLS_KEY: 'tls.keyFile',
  RELAYGATE_DNS_RESOLVER: 'dnsResolver',
  RELAYGATE_MASTER_KEY: 'masterKey',
  RELAYGATE_PREVIOUS_MASTER_KEYS: 'previousMasterKeys',
  RELAYGATE_LIMIT_DOMAINS_PER_ORGANISATION: 'limits.domainsPerOrganisation',
  RELAYGATE_LIMIT_ADDRESSES_PER_DOMAIN: 'limits.addressesPerDomain',
  RELAYGATE_SMARTHOST: 'smarthost',
  RELAYGATE_SANDBOX: 'sandbox',
  RELAYGATE_SMARTHOST_CA: 'smarthostCaFile',
  RELAYGATE_DELIVERY_DIRECT: 'delivery.direct',
  RELAYGATE_DELIVERY_MX_PORT: 'delivery.mxPort',
  RELAYGATE_DELIVERY_CA: 'delivery.caFile',
  RELAYGATE_DELIVERY_MTA_STS_PORT: 'delivery.mtaStsPort',
  RELAYGATE_DELIVERY_CONNECT_TIMEOUT: 'delivery.connectTimeout',
  RELAYGATE_QUEUE_EXPIRE_AFTER: 'queue.expireAfter',
  RELAYGATE_QUEUE_RETRY_INITIAL: 'queue.retryInitial',
  RELAYGATE_QUEUE_RETRY_MAX: 'queue.retryMax',
  RELAYGATE_QUEUE_CONCURRENCY: 'queue.concurrency',
  RELAYGATE_QUEUE_LEASE: 'queue.lease',
  RELAYGATE_HTTP_PUBLIC_URL: 'http.publicUrl',
  RELAYGATE_INBOUND_ALLOW_UNAUTHENTICATED: 'inbound.allowUnauthenticated',
  RELAYGATE_INBOUND_ALLOW_PRIVATE_WEBHOOKS: 'inbound.allowPrivateWebhooks',
  RELAYGATE_INBOUND_WEBHOOK_CA: 'inbound.webhookCaFile',
  RELAYGATE_INBOUND_WEBHOOK_TIMEOUT: 'inbound.webhookTimeout',
  RELAYGATE_INBOUND_INLINE_ATTACHMENT_BYTES: 'inbound.inlineAttachmentBytes',
  RELAYGATE_INBOUND_RETAIN_BODIES: 'inbound.retainBodies',
  RELAYGATE_VERIFICATION_TIMEOUT: 'verification.timeout',
  RELAYGATE_VERIFICATION_INTERVAL: 'verification.interval',
  RELAYGATE_DKIM_CHECK_INTERVAL: 'dkim.checkInterval',
  RELAYGATE_HEALTH_MIN_FREE_DISK: 'health.minFreeDisk',
  RELAYGATE_SHUTDOWN_TIMEOUT: 'shutdownTimeout',
  RELAYGATE_LOG_LEVEL: 'logLevel',
  RELAYGATE_LOG_FORMAT: 'logFormat',
};

/** Variables that belong to the test harness, not to the gateway. */
const NOT_CONFIG = /^RELAYGATE_TEST_/;

export function isConfigVariable(name: string): boolean {
  return name.startsWith('RELAYGATE_') && !NOT_CONFIG.test(name);
}
