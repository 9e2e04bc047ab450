import { sqlSealedBodyStore } from '../store/sealed-bodies/index.js';
import { sqlSealedValueStore } from '../store/sealed-values/index.js';
import { sqlSecureDeliveryStore } from '../store/secure-delivery/index.js';
import { sqlSecureMessageStore } from '../store/secure-messages/index.js';
import { sqlSecureSettingsStore } from '../store/secure-settings/index.js';
import type { OpenStore } from './open-store.js';

/**
 * The concrete stores of src/secure, on an opened store: what the gateway, the admin services
 * and the CLI's verbs hand to the vault, the sealing spool and the sender's controls.
 */
export function secureStores(db: OpenStore['db']) {
  return {
    messages: sqlSecureMessageStore(db),
    bodies: sqlSealedBodyStore(db),
    settings: sqlSecureSettingsStore(db),
    sealedValues: sqlSealedValueStore(db),
    /** The secure courier's, and the domains inbound direct delivery asks about. */
    delivery: sqlSecureDeliveryStore(db),
  };
}
