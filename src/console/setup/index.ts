/** The guided setup of the console: domains with their addresses and legs, credentials, routes, outbound connections. */
export { registerConnectionPages } from './connection-pages.js';
export { registerCredentialPages } from './credential-pages.js';
export { registerDomainList } from './domain-list-pages.js';
export { registerDomainPages } from './domain-pages.js';
export { registerInboundPages } from './inbound-pages.js';
export { registerRoutePages } from './route-pages.js';
export { registerSecureSettingsPages } from './secure-settings-pages.js';
export { registerTokenPages } from './token-pages.js';
