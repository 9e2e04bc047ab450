import type { ApiContext } from '../api-context.js';

/** /api/v1/addresses (being built). */
export function addressRoutes(_ctx: ApiContext): void {}
