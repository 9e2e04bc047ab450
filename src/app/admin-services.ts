import type { AdminServices } from '../api/api-context.js';
import { auditLog } from '../audit/audit-log.js';
import { apiTokens } from '../directory/api-tokens.js';
import type { DirectoryContext } from '../directory/context.js';

/** The administrative services, built once and shared by the API and the CLI. */
export function adminServices(ctx: DirectoryContext): AdminServices {
  return { tokens: apiTokens(ctx), audit: auditLog(ctx) };
}
