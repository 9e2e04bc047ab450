import { createHmac } from 'node:crypto';
import { headerFields } from '../pipeline/header-from.js';
import type { Spool } from '../queue/spool.js';
import type { SealedBodyStore } from './sealed-body-store.js';
import type { SecureMessageStore } from './secure-message-store.js';

/** How inbound mail is told to be a reply to secure mail (src/pipeline/routes/inbound.ts). */
export interface SecureReplies {
  /**
   * True when a recipient is an address that sends secure mail (its domain is routed
   * `secure`): what comes back to it answers secure mail, so it is stored sealed. Decided
   * from the envelope, before a byte of the body is stored.
   */
  sealsFor(recipients: string[]): Promise<boolean>;
  /** The secure message the header's In-Reply-To or References names, if it is one of ours. */
  answeredMessage(headers: Buffer): Promise<string | null>;
}

/** Who sends secure mail: what the directory knows of addresses and routes (src/directory/secure-senders.ts). */
export interface SecureSenders {
  /** True when the address is a known address (of a verified domain) whose organisation routes its mail `secure`. */
  sendsSecure(address: string): Promise<boolean>;
}

/**
 * A keyed hash of a Message-ID: lets a reply be linked to its secure message without
 * keeping the Message-ID (which may carry a case or patient number) in the clear.
 */
export function replyRefHash(hashKey: Buffer, messageId: string): string {
  return createHmac('sha256', hashKey).update('relaygate secure reply ref\0').update(messageId.trim()).digest('base64url');
}

export function secureReplies(o: { senders: SecureSenders; messages: Pick<SecureMessageStore, 'messageByRef'>; hashKey: Buffer }): SecureReplies {
  return {
    async sealsFor(recipients) {
      for (const address of recipients) if (await o.senders.sendsSecure(address)) return true;
      return false;
    },

    async answeredMessage(headers) {
      const refs = headerFields(headers)
        .filter((f) => /^(in-reply-to|references)$/i.test(f.name))
        .flatMap((f) => f.value.match(/<[^<>\s]+>/g) ?? []);
      if (refs.length === 0) return null;
      return o.messages.messageByRef(refs.map((ref) => replyRefHash(o.hashKey, ref)));
    },
  };
}

/**
 * Crypto-shreds what answers a secure message with it: the data keys of its replies,
 * receipts and reports go first, then their ciphertext, then the hashes that linked them.
 * Their download links answer 410 from then on, as for a body past its retention.
 */
export async function shredAnswers(
  o: { bodies: SealedBodyStore; messages: Pick<SecureMessageStore, 'removeRefs'>; spool: Pick<Spool, 'remove'> },
  secureMessageId: string,
  now: number,
): Promise<number> {
  const answers = await o.bodies.answersOf(secureMessageId);
  await o.bodies.removeAnswersOf(secureMessageId);
  for (const id of answers) await o.spool.remove(id);
  await o.bodies.markPurged(answers, now);
  await o.messages.removeRefs(secureMessageId);
  return answers.length;
}
