import type { Logger } from 'pino';
import type { InboundTargetDirectory, RoutableTarget } from '../directory/inbound-targets.js';
import { SmtpReply } from '../model/smtp-reply.js';
import type { SynchronousHandoff } from '../pipeline/routes/inbound.js';
import type { Spool } from '../queue/spool.js';
import type { InboundRecipientLookup } from './inbound-recipient-lookup.js';
import type { WebhookDelivery } from './webhook-delivery.js';

/**
 * Synchronous mode: when every recipient's target is the same synchronous webhook, the end
 * of DATA waits for it. 2xx → 250; 422 → 550 5.7.1 with the application's reason; anything
 * else, a timeout included → 451 4.3.0, and the organisation's server retries (the content-
 * derived idempotency key lets the application recognise a message it took but whose answer
 * was lost). Recipients with different targets are queued as usual.
 */
export function synchronousHandoff(o: {
  recipients: InboundRecipientLookup;
  targets: Pick<InboundTargetDirectory, 'forDomain'>;
  webhooks: WebhookDelivery;
  spool: Spool;
  log: Logger;
}): SynchronousHandoff {
  return {
    async targetFor(recipients) {
      let shared: RoutableTarget | undefined;
      for (const address of recipients) {
        const found = await o.recipients(address);
        if (found.kind !== 'known') return undefined;
        const target = await o.targets.forDomain(found.domainId);
        if (target?.kind !== 'webhook' || !target.synchronous || (shared && shared.id !== target.id)) return undefined;
        shared = target;
      }
      return shared;
    },

    async deliver(target, message) {
      const verdict = await o.webhooks.deliver(target, {
        queueId: message.queueId,
        receivedAt: message.receivedAt,
        envelope: { mailFrom: message.envelope.mailFrom, recipients: message.envelope.recipients.map((r) => r.address) },
        stored: await o.spool.readAll(message.queueId),
        record: message.record,
      });
      o.log.info({ queueId: message.queueId, target: target.id, verdict: verdict.kind, reply: verdict.reply }, 'synchronous webhook');
      if (verdict.kind === 'accepted') return verdict.reply;
      if (verdict.kind === 'refused') throw SmtpReply.applicationRefused(verdict.reason);
      throw SmtpReply.applicationUnavailable();
    },
  };
}
