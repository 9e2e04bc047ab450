import type { ApiContext } from '../api-context.js';

/** /api/v1/routes (being built). */
export function routeRoutes(_ctx: ApiContext): void {}
