// The gateway as the CLI and the tests start it. The composition root is split by job:
// compose.ts builds the parts from the config, roles.ts starts what a role runs, jobs.ts holds
// the background jobs, lifecycle.ts the start order and the stop's drain order.
export { type Gateway, type GatewayOptions, LISTENERS_FILE, startGateway } from './lifecycle.js';
