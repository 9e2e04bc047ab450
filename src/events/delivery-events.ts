import { newId } from '../lib/ids.js';
import type { DueMessage, NewDeliveryEvent, RecipientUpdate } from '../queue/queue-store.js';

/**
 * The `message.delivered` and `message.bounced` events of one attempt: one per recipient that
 * reached a final state, with the delivery evidence (how TLS and the peer were verified).
 * Only outbound mail an application submitted reports events; DSNs, inbound mail and the
 * gateway's own mail (connection checks, portal codes and notifications) do not.
 * `wanted` says whether any webhook would receive them, so a gateway without one stores nothing.
 */
export function deliveryEvents(o: { wanted(): Promise<boolean>; expireAfterMs: number }) {
  return async (message: DueMessage, updates: RecipientUpdate[], now: number): Promise<NewDeliveryEvent[]> => {
    // The application's own mail only: not the gateway's verification and portal mails, which
    // it never sent, nor DSNs.
    if (message.direction !== 'outbound' || message.isDsn || message.mailFrom === '' || message.credentialId === null) return [];
    if (!updates.some((u) => u.status === 'delivered' || u.status === 'bounced') || !(await o.wanted())) return [];
    const senderDomain = message.mailFrom.slice(message.mailFrom.lastIndexOf('@') + 1).toLowerCase();
    return updates
      .filter((u) => u.status === 'delivered' || u.status === 'bounced')
      .map((u) => {
        const id = newId('evt');
        const payload = {
          type: u.status === 'delivered' ? 'message.delivered' : 'message.bounced',
          id,
          at: new Date(now).toISOString(),
          queueId: message.id,
          mailFrom: message.mailFrom,
          recipient: u.address,
          reply: u.reply,
          reason: u.reason ?? null,
          evidence: u.evidence ?? null,
        };
        return { id, senderDomain, payload: JSON.stringify(payload), expiresAt: now + o.expireAfterMs };
      });
  };
}
