import type { Courier } from './courier.js';

/** Inbound mail to the application's target, everything else out through the outbound path. */
export function directionalCourier(outbound: Courier, inbound: Courier): Courier {
  return {
    remote: outbound.remote,
    deliver: (message) => (message.direction === 'inbound' ? inbound : outbound).deliver(message),
    async close() {
      await Promise.all([inbound.close(), outbound.close()]);
    },
  };
}
