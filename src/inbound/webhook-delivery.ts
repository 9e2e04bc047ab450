import type { RoutableTarget } from '../directory/inbound-targets.js';
import type { Clock } from '../lib/clock.js';
import type { InboundRecord } from '../queue/queue-store.js';
import type { DownloadLinks } from './download-links.js';
import type { WebhookAnswer, WebhookClient } from './webhook-client.js';
import { buildWebhookPayload, type RelayFacts } from './webhook-payload.js';
import { signatureHeaders } from './webhook-signature.js';

/** What became of one webhook call, in the words delivery and the SMTP reply need. */
export type WebhookVerdict =
  | { kind: 'accepted'; reply: string }
  /** HTTP 422: the application will never take this message. */
  | { kind: 'refused'; reply: string; reason: string }
  | { kind: 'unavailable'; reply: string };

export interface InboundMessage {
  queueId: string;
  receivedAt: number;
  envelope: { mailFrom: string; recipients: string[] };
  /** The message as stored, without our Authentication-Results (it is prepended here). */
  stored: Buffer;
  record: InboundRecord;
}

export interface WebhookDeliveryOptions {
  client: WebhookClient;
  clock: Clock;
  links: DownloadLinks;
  timeoutMs: number;
  inlineAttachmentBytes: number;
  /** The endpoint answered 410 Gone: disables the target (src/inbound/gone-target.ts). */
  gone(target: RoutableTarget, reply: string): Promise<void>;
}

/** HTTP 422 (RFC 9110 §15.5.21) is how an application refuses a message for good. */
const REFUSAL_STATUS = 422;
/** HTTP 410 (RFC 9110 §15.5.11): the endpoint is gone for good; the target is disabled rather than retried. */
export const GONE_STATUS = 410;

/**
 * Posts a `message.received` event. The event id is derived from the message's content hash,
 * so every retry of the same message (ours after a failure, or the organisation's server's
 * after a 451 in synchronous mode) carries the same id and idempotency key: the application
 * can drop what it has already taken.
 */
export function webhookDelivery(o: WebhookDeliveryOptions) {
  return {
    async deliver(target: RoutableTarget, message: InboundMessage): Promise<WebhookVerdict> {
      if (!target.url) return { kind: 'unavailable', reply: `inbound target ${target.id} has no URL` };
      if (target.disabledAt !== null) return { kind: 'unavailable', reply: disabledReply(target) };
      const eventId = `msg_${message.record.contentHash.slice(0, 32)}`;
      const raw = Buffer.concat([Buffer.from(message.record.authenticationResults), message.stored]);
      let body: string;
      try {
        const payload = await buildWebhookPayload({
          eventId,
          queueId: message.queueId,
          receivedAt: message.receivedAt,
          raw,
          envelope: message.envelope,
          relay: JSON.parse(message.record.relay) as RelayFacts,
          authentication: JSON.parse(message.record.authentication),
          authenticationResults: message.record.authenticationResults.trimEnd(),
          inlineLimitBytes: o.inlineAttachmentBytes,
          urls: { raw: o.links.raw(message.queueId), attachment: (index) => o.links.attachment(message.queueId, index) },
        });
        body = JSON.stringify(payload);
      } catch (err) {
        return { kind: 'unavailable', reply: `the message could not be parsed for the webhook: ${(err as Error).message}` };
      }
      let headers: Record<string, string>;
      try {
        headers = { ...signatureHeaders(target.secrets, eventId, Math.floor(o.clock.now() / 1000), body), 'idempotency-key': eventId };
      } catch (err) {
        return { kind: 'unavailable', reply: `inbound target ${target.id} cannot sign: ${(err as Error).message}; set it again or rotate its secret` };
      }
      const answer = await o.client.post({ url: target.url, body, headers, timeoutMs: o.timeoutMs });
      const verdict = verdictOf(answer);
      if (answer.kind !== 'answered' || answer.status !== GONE_STATUS) return verdict;
      await o.gone(target, verdict.reply);
      return { kind: 'unavailable', reply: `${verdict.reply}; ${disabledText(target.id)}` };
    },
  };
}

/** What mail for a disabled target is told at each attempt, for the message log. */
export function disabledReply(target: Pick<RoutableTarget, 'id' | 'disabledReason'>): string {
  return `${disabledText(target.id)} (${target.disabledReason ?? 'disabled'})`;
}

function disabledText(id: string): string {
  return `inbound target ${id} is disabled; the message waits until it is enabled again (relaygate inbound enable)`;
}

export type WebhookDelivery = ReturnType<typeof webhookDelivery>;

function verdictOf(answer: WebhookAnswer): WebhookVerdict {
  switch (answer.kind) {
    case 'answered': {
      const summary = `webhook answered ${answer.status} in ${answer.ms} ms`;
      if (answer.status >= 200 && answer.status < 300) return { kind: 'accepted', reply: summary };
      if (answer.status === REFUSAL_STATUS) return { kind: 'refused', reply: `${summary}: ${clip(answer.body)}`, reason: refusalReason(answer.body) };
      return { kind: 'unavailable', reply: `${summary}${answer.body ? `: ${clip(answer.body)}` : ''}` };
    }
    case 'timeout':
      return { kind: 'unavailable', reply: `webhook did not answer within ${answer.ms} ms` };
    case 'failed':
      return { kind: 'unavailable', reply: `webhook unreachable: ${answer.detail}` };
    case 'refused-destination':
      return { kind: 'unavailable', reply: `webhook URL refused: ${answer.problem}` };
  }
}

/** `{"reason": "..."}` when the application gave one; kept short and printable, since it goes into an SMTP reply. */
function refusalReason(body: string): string {
  try {
    const reason = (JSON.parse(body) as { reason?: unknown }).reason;
    return typeof reason === 'string' ? reason.replace(/[^\x20-\x7e]/g, ' ').slice(0, 200) : '';
  } catch {
    return '';
  }
}

function clip(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}
