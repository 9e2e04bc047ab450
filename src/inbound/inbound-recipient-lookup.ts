import type { InboundRecipient } from '../directory/inbound-recipients.js';

/**
 * Who an inbound recipient is, as the directory knows it (src/directory/inbound-recipients.ts
 * implements it; src/app hands it in): the inbound leg asks, it does not import the directory.
 */
export type InboundRecipientLookup = (address: string) => Promise<InboundRecipient>;
