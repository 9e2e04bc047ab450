import type { ApiContext } from '../api-context.js';

/** /api/v1/connections (being built). */
export function connectionRoutes(_ctx: ApiContext): void {}
