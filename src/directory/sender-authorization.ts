import type { SenderPolicy } from '../policy/sender-policy.js';
import type { DirectoryContext } from './context.js';

/** Which senders a submission credential may use (issue 3, point 5). Not yet enforced. */
export function senderAuthorization(_ctx: DirectoryContext): SenderPolicy {
  return { checkMailFrom: async () => undefined, checkHeaderFrom: async () => undefined };
}
