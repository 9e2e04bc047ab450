import { Readable } from 'node:stream';
import type { Courier, OutboundMessage } from '../delivery/courier.js';
import type { ProofEvidence } from '../delivery/direct-secure-delivery.js';
import type { SecureDeliveryRecipient, SecureDeliveryStore, SecureRecipientProgress } from '../delivery/secure-delivery-store.js';
import { mailLocale } from '../i18n/index.js';
import type { Clock } from '../lib/clock.js';
import type { DeliveryEvidence, DeliveryOutcome } from '../model/outcome.js';
import type { KeyEncryption } from './key-encryption.js';
import { notificationMail, notificationMessageId } from './notification.js';
import { replyRefHash } from './secure-replies.js';
import { brandingFrom } from './secure-settings.js';
import { PORTAL_TOKEN_PURPOSE, SecureMessageGone, type SecureVault, type UnlockedMessage } from './vault.js';

/** What a domain flagged for inbound direct delivery made of one attempt. */
export type DirectAttempt =
  | { kind: 'outcome'; outcome: DeliveryOutcome }
  /** The proof (DNSSEC + DANE, or DNSSEC + PKIX) did not hold: the recipient gets the portal instead. */
  | { kind: 'fallback'; reason: string; evidence?: ProofEvidence | DeliveryEvidence | undefined };

export interface DirectDelivery {
  /** Undefined when the recipient's domain is not flagged for direct delivery. */
  attempt(message: OutboundMessage, recipient: string): Promise<DirectAttempt | undefined>;
}

export interface SecureCourierOptions {
  store: SecureDeliveryStore;
  vault: SecureVault;
  kek: KeyEncryption;
  /** The normal outbound path (connections, DKIM signing): notifications leave like any plain mail. */
  outbound: Courier;
  direct?: DirectDelivery | undefined;
  /** Where the portal is reached from outside, without a trailing slash. */
  portalUrl(): string;
  hostname: string;
  /** Keys the hashes that link a notification's Message-ID to its secure message. */
  hashKey: Buffer;
  clock: Clock;
}

type RecipientRow = SecureDeliveryRecipient;

/**
 * Delivers a secure message one recipient at a time: decrypted, straight to the recipient's
 * server when its domain is flagged for direct delivery and the proof holds at this attempt;
 * otherwise a notification with the recipient's portal link. What happened is written to the
 * recipient's row (the sender's status view); the queue records the attempt as usual, so a
 * notification that defers is retried and one that bounces produces a non-delivery report.
 */
export function secureCourier(o: SecureCourierOptions): Courier {
  return {
    remote: o.outbound.remote,

    async deliver(message) {
      let unlocked: UnlockedMessage;
      try {
        unlocked = await o.vault.unlock(message.id);
      } catch (err) {
        // Revoked or shredded before delivery: nothing may be sent, and nothing is left to retry.
        if (err instanceof SecureMessageGone)
          return forAll(message.recipients, { kind: 'delivered', reply: `nothing sent: the secure message was ${err.why}` });
        return forAll(message.recipients, { kind: 'deferred', reason: 'unknown', reply: `cannot open the secure message: ${(err as Error).message}` });
      }
      const rows = await o.store.recipients(message.id);
      const org = await o.store.settings(unlocked.row.organisationId);
      const outcomes = await Promise.all(
        message.recipients.map(async (address): Promise<[string, DeliveryOutcome]> => {
          const row = rows.find((r) => r.address === address);
          if (!row) return [address, { kind: 'deferred', reason: 'unknown', reply: `no secure recipient record for ${address}` }];
          if (row.revokedAt !== null) return [address, { kind: 'delivered', reply: 'nothing sent: the access of this recipient was revoked' }];
          return [address, await deliverTo(message, unlocked, row, org?.neutralSubject === true)];
        }),
      );
      return new Map(outcomes);
    },

    close: async () => undefined,
  };

  async function deliverTo(message: OutboundMessage, unlocked: UnlockedMessage, row: RecipientRow, neutralSubject: boolean): Promise<DeliveryOutcome> {
    const plain: OutboundMessage = { ...message, direction: 'outbound', recipients: [row.address], openBody: unlocked.openBody };
    const direct = await o.direct?.attempt(plain, row.address);
    if (direct?.kind === 'outcome') {
      const { outcome } = direct;
      if (outcome.kind === 'delivered')
        await update(row, { status: 'delivered', deliveredVia: 'direct', evidence: json(outcome.evidence), fallbackReason: null });
      if (outcome.kind === 'bounced') await update(row, { status: 'bounced', bouncedAt: o.clock.now() });
      return outcome;
    }
    const fallback = direct?.kind === 'fallback' ? direct.reason : null;
    if (direct?.kind === 'fallback') await update(row, { fallbackReason: direct.reason, evidence: json(direct.evidence) });
    return notify(message, unlocked, row, { neutralSubject, fallback });
  }

  async function notify(
    message: OutboundMessage,
    unlocked: UnlockedMessage,
    row: RecipientRow,
    how: { neutralSubject: boolean; fallback: string | null },
  ): Promise<DeliveryOutcome> {
    if (row.tokenSealed === null) return { kind: 'delivered', reply: 'nothing sent: the portal link of this recipient is gone' };
    const token = o.kek.open(row.tokenSealed, { purpose: PORTAL_TOKEN_PURPOSE, id: row.id }).toString('utf8');
    const now = o.clock.now();
    // A recipient who answers the notification by mail answers the secure message: the reply is
    // then linked to it, sealed, and shredded with it (secure-replies.ts), like one to the message itself.
    const messageId = notificationMessageId(o.hostname);
    await o.store.linkReference(replyRefHash(o.hashKey, messageId), message.id);
    const brand = await brandingFrom(o.store, unlocked.row.organisationId);
    const body = await notificationMail({
      locale: mailLocale(unlocked.row.language, brand.locale),
      brand,
      meta: unlocked.meta,
      recipient: row.address,
      link: `${o.portalUrl()}/m/${token}`,
      neutralSubject: how.neutralSubject,
      retainUntil: unlocked.row.retainUntil,
      messageId,
      now,
    });
    const outcomes = await o.outbound.deliver({
      ...message,
      direction: 'outbound',
      recipients: [row.address],
      sizeBytes: body.length,
      openBody: () => Readable.from([body]),
    });
    const outcome = outcomes.get(row.address) ?? { kind: 'deferred', reason: 'unknown', reply: 'no outcome for the notification' };
    if (outcome.kind === 'delivered') await update(row, { status: 'notified', deliveredVia: 'portal', notifiedAt: o.clock.now() });
    if (outcome.kind === 'bounced') await update(row, { status: 'bounced', bouncedAt: o.clock.now() });
    const why = how.fallback ? ` (direct delivery not possible: ${how.fallback})` : '';
    return { ...outcome, reply: `portal notification${why}: ${outcome.reply}` };
  }

  async function update(row: RecipientRow, progress: SecureRecipientProgress): Promise<void> {
    await o.store.recordProgress(row.id, progress);
  }
}

function json(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

function forAll(recipients: string[], outcome: DeliveryOutcome): Map<string, DeliveryOutcome> {
  return new Map(recipients.map((address) => [address, outcome]));
}
