import type { Logger } from 'pino';
import type { Actor } from '../directory/context.js';
import type { InboundTargetDirectory, RoutableTarget } from '../directory/inbound-targets.js';

/** Who disables a target on a 410 Gone, in the audit log. */
export const WEBHOOK_DELIVERY_ACTOR: Actor = { name: 'system:webhook-delivery', ip: null };

/**
 * What a 410 Gone does, wherever it is answered (inbound mail, synchronous mode, delivery
 * events): the target is disabled with an audit record, and the `inbound-target.disabled`
 * log event tells the operator, once. Never throws: a disable that fails to commit is
 * logged, and the next attempt meets the same 410.
 */
export function goneTarget(o: { targets: Pick<InboundTargetDirectory, 'disable'>; log: Logger }) {
  return async (target: Pick<RoutableTarget, 'id' | 'domain' | 'url'>, reply: string): Promise<void> => {
    try {
      if (!(await o.targets.disable(target.id, reply, WEBHOOK_DELIVERY_ACTOR))) return;
      o.log.warn(
        { event: 'inbound-target.disabled', target: target.id, domain: target.domain, url: target.url, reply },
        'inbound target disabled: its webhook answered 410 Gone; mail for it waits until "relaygate inbound enable"',
      );
    } catch (err) {
      o.log.error({ err, target: target.id }, 'the inbound target could not be disabled after a 410 Gone; the next attempt tries again');
    }
  };
}
