/** Watching the gateway: the dashboard, the message log with timelines and queue actions, DNS reports, the audit log. */
export { registerAuditLog } from './audit-pages.js';
export { registerDashboard } from './dashboard-pages.js';
export { registerDnsReport } from './dns-report-pages.js';
export { registerMessageLog } from './message-log-pages.js';
export { registerMessagePages } from './message-pages.js';
export { registerSandboxPages } from './sandbox-pages.js';
export { registerSecureMessagePages } from './secure-message-pages.js';
