import { createHmac } from 'node:crypto';
import { lookUpInboundRecipient } from '../directory/inbound-recipients.js';
import { loadRouteTable } from '../directory/routes.js';
import { headerFields } from '../pipeline/header-from.js';
import { decideRoute } from '../policy/route-match.js';
import type { Spool } from '../queue/spool.js';
import type { Db } from '../store/tables.js';

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

/**
 * A keyed hash of a Message-ID: lets a reply be linked to its secure message without
 * keeping the Message-ID (which may carry a case or patient number) in the clear.
 */
export function replyRefHash(hashKey: Buffer, messageId: string): string {
  return createHmac('sha256', hashKey).update('relaygate secure reply ref\0').update(messageId.trim()).digest('base64url');
}

export function secureReplies(o: { db: Db; hashKey: Buffer }): SecureReplies {
  return {
    async sealsFor(recipients) {
      for (const address of recipients) {
        const found = await lookUpInboundRecipient(o.db, address);
        if (found.kind !== 'known') continue;
        const table = await loadRouteTable(o.db, found.organisationId);
        if (decideRoute(table.rules, table.defaultAction, address).action === 'secure') return true;
      }
      return false;
    },

    async answeredMessage(headers) {
      const refs = headerFields(headers)
        .filter((f) => /^(in-reply-to|references)$/i.test(f.name))
        .flatMap((f) => f.value.match(/<[^<>\s]+>/g) ?? []);
      if (refs.length === 0) return null;
      const row = await o.db
        .selectFrom('secure_message_refs')
        .select('secure_message_id')
        .where(
          'ref_hash',
          'in',
          refs.map((ref) => replyRefHash(o.hashKey, ref)),
        )
        .executeTakeFirst();
      return row?.secure_message_id ?? null;
    },
  };
}

/**
 * Crypto-shreds what answers a secure message with it: the data keys of its replies,
 * receipts and reports go first, then their ciphertext, then the hashes that linked them.
 * Their download links answer 410 from then on, as for a body past its retention.
 */
export async function shredAnswers(db: Db, spool: Pick<Spool, 'remove'>, secureMessageId: string, now: number): Promise<number> {
  const rows = await db.selectFrom('sealed_bodies').select('message_id').where('secure_message_id', '=', secureMessageId).execute();
  const answers = rows.map((r) => r.message_id);
  await db.deleteFrom('sealed_bodies').where('secure_message_id', '=', secureMessageId).execute();
  for (const id of answers) await spool.remove(id);
  if (answers.length > 0)
    await db.updateTable('messages').set({ body_purged_at: now }).where('id', 'in', answers).where('body_purged_at', 'is', null).execute();
  await db.deleteFrom('secure_message_refs').where('secure_message_id', '=', secureMessageId).execute();
  return answers.length;
}
