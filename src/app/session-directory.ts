import { inboundCredentialObjection, lookUpInboundRecipient } from '../directory/inbound-recipients.js';
import type { SessionDirectory } from '../smtp/session-directory.js';
import type { OpenStore } from './open-store.js';

/** The directory lookups of the SMTP session hooks, on this store. */
export function sessionDirectory({ db }: Pick<OpenStore, 'db'>): SessionDirectory {
  return {
    inboundCredentialObjection: (credentialId, nowMs) => inboundCredentialObjection(db, credentialId, nowMs),
    lookUpInboundRecipient: (address) => lookUpInboundRecipient(db, address),
  };
}
