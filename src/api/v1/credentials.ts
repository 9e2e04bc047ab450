import type { ApiContext } from '../api-context.js';

/** /api/v1/credentials (being built). */
export function credentialRoutes(_ctx: ApiContext): void {}
