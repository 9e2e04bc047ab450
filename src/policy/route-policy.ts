import type { DirectoryContext } from '../directory/context.js';
import type { SenderPolicy } from './sender-policy.js';

/** What the routes say of a sender at MAIL FROM (reject, secure, relay). Not yet enforced. */
export function routePolicy(_ctx: DirectoryContext): SenderPolicy {
  return { checkMailFrom: async () => undefined, checkHeaderFrom: async () => undefined };
}
