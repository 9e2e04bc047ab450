import type { MessageDirection } from '../model/states.js';
import type { Courier } from './courier.js';

/** Inbound mail to the application's target, secure messages per recipient, everything else out through the outbound path. */
export function directionalCourier(couriers: Record<MessageDirection, Courier>): Courier {
  return {
    remote: couriers.outbound.remote,
    deliver: (message) => couriers[message.direction].deliver(message),
    async close() {
      await Promise.all(Object.values(couriers).map((c) => c.close()));
    },
  };
}
