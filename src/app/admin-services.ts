import type { AdminServices } from '../api/api-context.js';
import { auditLog } from '../audit/audit-log.js';
import type { Config } from '../config/schema.js';
import { addressDirectory } from '../directory/addresses.js';
import { apiTokens } from '../directory/api-tokens.js';
import { connectionDirectory } from '../directory/connections.js';
import type { DirectoryContext } from '../directory/context.js';
import { credentialDirectory } from '../directory/credentials.js';
import { domainDirectory } from '../directory/domains.js';
import { routeDirectory } from '../directory/routes.js';

/** The administrative services, built once and shared by the API and the CLI. */
export function adminServices(ctx: DirectoryContext, config: Config): AdminServices {
  return {
    tokens: apiTokens(ctx),
    audit: auditLog(ctx),
    domains: domainDirectory(ctx, config),
    addresses: addressDirectory(ctx, config),
    credentials: credentialDirectory(ctx, ctx.clock),
    routes: routeDirectory(ctx, config),
    connections: connectionDirectory(ctx, config),
  };
}
