import type { SecureSenders } from '../secure/secure-replies.js';
import type { DirectoryContext } from './context.js';
import type { InboundRecipientStore } from './inbound-recipient-store.js';
import { lookUpInboundRecipient } from './inbound-recipients.js';
import type { RouteStore } from './route-store.js';
import { routeDirectory } from './routes.js';

/**
 * What src/secure asks of the directory to tell a reply to secure mail (secure-replies.ts):
 * the address is known, and its organisation's routes send its mail `secure` (the decision
 * MAIL FROM would take for it).
 */
export function secureSenders(stores: { routes: RouteStore; inboundRecipients: InboundRecipientStore }, ctx: DirectoryContext): SecureSenders {
  return {
    async sendsSecure(address) {
      const found = await lookUpInboundRecipient(stores.inboundRecipients, address);
      if (found.kind !== 'known') return false;
      return (await routeDirectory(stores, ctx, found.organisationId).test(address)).action === 'secure';
    },
  };
}
