import { Readable } from 'node:stream';
import type { InboundTargetDirectory, RoutableTarget } from '../directory/inbound-targets.js';
import type { InboundRecipientLookup } from '../inbound/inbound-recipient-lookup.js';
import type { WebhookDelivery } from '../inbound/webhook-delivery.js';
import type { DeliveryOutcome } from '../model/outcome.js';
import type { InboundRecord, QueueStore } from '../queue/queue-store.js';
import type { Spool } from '../queue/spool.js';
import type { Courier, OutboundMessage } from './courier.js';

export interface InboundCourierOptions {
  /** Who each recipient is, looked up at every attempt (src/directory/inbound-recipients.ts). */
  recipients: InboundRecipientLookup;
  store: Pick<QueueStore, 'inboundRecord'>;
  spool: Spool;
  targets: Pick<InboundTargetDirectory, 'forDomain'>;
  webhooks: WebhookDelivery;
  /** The outbound path, for SMTP forwards to the application. */
  outbound: Courier;
}

/**
 * Hands inbound mail to the application: each recipient's domain names its inbound target
 * (the domain's own, else the organisation's), looked up at every attempt so a changed target
 * applies to queued mail. A webhook that refuses (422) or a forward that bounces comes back as
 * `bounced`, which the worker parks instead of bouncing: no backscatter.
 */
export function inboundCourier(o: InboundCourierOptions): Courier {
  return {
    remote: undefined,

    async deliver(message) {
      const record = await o.store.inboundRecord(message.id);
      if (!record) return outcomeForAll(message.recipients, { kind: 'deferred', reason: 'unknown', reply: `no inbound record for ${message.id}` });
      const groups = await groupByTarget(o, message.recipients);
      const results = await Promise.all(
        [...groups].map(async ([target, recipients]): Promise<Map<string, DeliveryOutcome>> => {
          if (typeof target === 'string') return outcomeForAll(recipients, { kind: 'deferred', reason: 'config', reply: target });
          if (target.kind === 'webhook') return outcomeForAll(recipients, await toWebhook(o, target, message, recipients, record));
          return outcomeForAll(recipients, await forward(o, target, message, recipients, record));
        }),
      );
      return new Map(results.flatMap((outcomes) => [...outcomes]));
    },

    async close() {},
  };
}

/** Recipients by target; a recipient without one is grouped under the reason, as a string. */
async function groupByTarget(o: InboundCourierOptions, recipients: string[]): Promise<Map<RoutableTarget | string, string[]>> {
  const byId = new Map<string, RoutableTarget>();
  const groups = new Map<RoutableTarget | string, string[]>();
  for (const address of recipients) {
    const found = await o.recipients(address);
    let key: RoutableTarget | string;
    if (found.kind !== 'known') key = `${address} is no longer an address of a verified domain here`;
    else {
      const target = await o.targets.forDomain(found.domainId);
      key = target ? (byId.get(target.id) ?? target) : `no inbound target for ${found.domain}: set one with "relaygate inbound set"`;
      if (target) byId.set(target.id, key as RoutableTarget);
    }
    groups.set(key, [...(groups.get(key) ?? []), address]);
  }
  return groups;
}

async function toWebhook(
  o: InboundCourierOptions,
  target: RoutableTarget,
  message: OutboundMessage,
  recipients: string[],
  record: InboundRecord,
): Promise<DeliveryOutcome> {
  const verdict = await o.webhooks.deliver(target, {
    queueId: message.id,
    receivedAt: message.receivedAt,
    envelope: { mailFrom: message.mailFrom, recipients },
    stored: await o.spool.readAll(message.id),
    record,
  });
  if (verdict.kind === 'accepted') return { kind: 'delivered', reply: verdict.reply };
  if (verdict.kind === 'refused') return { kind: 'bounced', reason: 'application', reply: verdict.reply, status: '5.7.1' };
  return { kind: 'deferred', reason: 'application', reply: verdict.reply };
}

/** Through the recipient domain's outbound connection, our Authentication-Results on top. */
async function forward(
  o: InboundCourierOptions,
  target: RoutableTarget,
  message: OutboundMessage,
  recipients: string[],
  record: InboundRecord,
): Promise<DeliveryOutcome> {
  const forwardTo = target.forwardTo ?? '';
  const head = Buffer.from(record.authenticationResults);
  const outcomes = await o.outbound.deliver({
    id: message.id,
    direction: 'inbound',
    mailFrom: message.mailFrom,
    receivedAt: message.receivedAt,
    recipients: [forwardTo],
    routeAs: recipients[0],
    sizeBytes: message.sizeBytes + head.length,
    openBody: () => Readable.from(prepend(head, message.openBody())),
  });
  const outcome = outcomes.get(forwardTo) ?? { kind: 'deferred', reason: 'unknown', reply: 'no outcome for the forward' };
  return { ...outcome, reply: `forward to ${forwardTo}: ${outcome.reply}` };
}

async function* prepend(head: Buffer, body: Readable): AsyncGenerator<Buffer> {
  yield head;
  for await (const chunk of body) yield chunk as Buffer;
}

function outcomeForAll(recipients: string[], outcome: DeliveryOutcome): Map<string, DeliveryOutcome> {
  return new Map(recipients.map((address) => [address, outcome]));
}
