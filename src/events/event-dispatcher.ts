import type { Logger } from 'pino';
import type { InboundTargetDirectory, RoutableTarget } from '../directory/inbound-targets.js';
import type { WebhookClient } from '../inbound/webhook-client.js';
import { disabledReply, GONE_STATUS } from '../inbound/webhook-delivery.js';
import { signatureHeaders } from '../inbound/webhook-signature.js';
import type { Clock } from '../lib/clock.js';
import { nextAttemptAt, type RetryPolicy } from '../queue/retry-schedule.js';
import type { EventStore } from './event-store.js';

export interface EventDispatcherOptions {
  store: EventStore;
  targets: Pick<InboundTargetDirectory, 'forDomain'>;
  client: WebhookClient;
  clock: Clock;
  retry: RetryPolicy;
  timeoutMs: number;
  log: Logger;
  /** The webhook answered 410 Gone: disables the target (src/inbound/gone-target.ts). */
  gone(target: RoutableTarget, reply: string): Promise<void>;
}

const BATCH = 20;

/**
 * Sends pending delivery events to the webhook of the sender's domain (or its organisation),
 * signed like inbound mail (Standard Webhooks; the event id is the idempotency key). A failed
 * call is retried with the queue's backoff until the event expires, then kept as failed.
 */
export function eventDispatcher(o: EventDispatcherOptions) {
  async function targetFor(senderDomain: string) {
    const domainId = await o.store.domainIdOf(senderDomain);
    const target = domainId ? await o.targets.forDomain(domainId) : undefined;
    return target?.kind === 'webhook' && target.url && target.secrets.length > 0 ? target : undefined;
  }

  return {
    /** One pass over what is due; the gateway's maintenance job calls it. */
    async dispatch(): Promise<number> {
      const now = o.clock.now();
      const due = await o.store.due(now, BATCH);
      for (const event of due) {
        // Several instances may dispatch at once: the one that moves the event past its send
        // time owns this attempt (an attempt that dies with its instance is retried then).
        if (!(await o.store.claim(event, now + 2 * o.timeoutMs))) continue;
        const target = await targetFor(event.senderDomain);
        if (!target?.url) {
          // The webhook went away since the event was made: nobody is left to tell.
          await o.store.remove(event.id);
          continue;
        }
        if (target.disabledAt !== null) {
          // Kept, unexpired and uncounted while the target is disabled; enabling it makes it due.
          await o.store.postpone(event.id, now + o.retry.maxMs, disabledReply(target));
          continue;
        }
        const headers = { ...signatureHeaders(target.secrets, event.id, Math.floor(now / 1000), event.payload), 'idempotency-key': event.id };
        const answer = await o.client.post({ url: target.url, body: event.payload, headers, timeoutMs: o.timeoutMs });
        if (answer.kind === 'answered' && answer.status >= 200 && answer.status < 300) {
          await o.store.remove(event.id);
          continue;
        }
        const reply =
          answer.kind === 'answered' ? `webhook answered ${answer.status}` : answer.kind === 'refused-destination' ? answer.problem : `webhook ${answer.kind}`;
        if (answer.kind === 'answered' && answer.status === GONE_STATUS) await o.gone(target, reply);
        const attempts = event.attempts + 1;
        const expired = o.clock.now() >= event.expiresAt;
        await o.store.recordFailure(event.id, {
          attempts,
          lastReply: reply,
          status: expired ? 'failed' : 'pending',
          nextAttemptAt: expired ? now : nextAttemptAt(o.retry, attempts, o.clock.now(), event.expiresAt),
        });
        if (expired) o.log.warn({ event: event.id, reply }, 'delivery event not taken by the webhook before it expired');
      }
      return due.length;
    },
  };
}
