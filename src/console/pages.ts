import type { ConsolePages } from './index.js';
import {
  registerConnectionPages,
  registerCredentialPages,
  registerDomainList,
  registerDomainPages,
  registerInboundPages,
  registerRoutePages,
  registerSecureSettingsPages,
  registerTokenPages,
} from './setup/index.js';
import {
  registerAuditLog,
  registerDashboard,
  registerDnsReport,
  registerMessageLog,
  registerMessagePages,
  registerSandboxPages,
  registerSecureMessagePages,
} from './watch/index.js';

/** Every page group of the console, in the order of the navigation. */
export const CONSOLE_PAGES: ConsolePages[] = [
  registerDashboard,
  registerDnsReport,
  registerMessageLog,
  registerMessagePages,
  registerSecureMessagePages,
  registerAuditLog,
  registerSandboxPages,
  registerDomainList,
  registerDomainPages,
  registerCredentialPages,
  registerRoutePages,
  registerConnectionPages,
  registerInboundPages,
  registerSecureSettingsPages,
  registerTokenPages,
];
