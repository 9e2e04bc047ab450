import { inboundCredentialObjection, lookUpInboundRecipient } from '../directory/inbound-recipients.js';
import type { SessionDirectory } from '../smtp/session-directory.js';
import { sqlInboundRecipientStore } from '../store/inbound-recipients/index.js';
import type { OpenStore } from './open-store.js';

/** The directory lookups of the SMTP session hooks, on this store. */
export function sessionDirectory({ db }: Pick<OpenStore, 'db'>): SessionDirectory {
  const recipients = sqlInboundRecipientStore(db);
  return {
    inboundCredentialObjection: (credentialId, nowMs) => inboundCredentialObjection(recipients, credentialId, nowMs),
    lookUpInboundRecipient: (address) => lookUpInboundRecipient(recipients, address),
  };
}
