import type { ApiContext } from '../api-context.js';

/** /api/v1/domains (being built). */
export function domainRoutes(_ctx: ApiContext): void {}
