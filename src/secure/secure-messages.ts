import { sql, type Transaction } from 'kysely';
import { appendAudit } from '../audit/audit-log.js';
import type { Actor, DirectoryContext, Page, PageRequest } from '../directory/context.js';
import { DirectoryError } from '../model/directory-error.js';
import { DEFAULT_ORGANISATION_ID } from '../model/organisation.js';
import type { Database, Db, SecureMessagesTable, SecureRecipientsTable } from '../store/tables.js';
import { SecureMessageGone, type SecureVault } from './vault.js';

/** What the sender sees of one recipient, most advanced first: a bounce outranks a reply, a reply an opening. */
export type SecureRecipientState = 'bounced' | 'replied' | 'opened' | 'delivered' | 'notified' | 'pending';

export interface SecureRecipientView {
  address: string;
  status: SecureRecipientState;
  revoked: boolean;
  revokedAt: number | null;
  /** When too many wrong one-time codes locked the portal link; null while it opens. */
  lockedAt: number | null;
  /** Wrong codes entered for the link since it was sent (or last unlocked). */
  wrongCodes: number;
  /** portal (notification and link) or direct (decrypted, over a verified transport). */
  deliveredVia: 'portal' | 'direct' | null;
  /** Why a domain flagged for direct delivery got the portal instead. */
  fallbackReason: string | null;
  /** The delivery evidence of a direct delivery, or of the attempt that failed the proof. */
  evidence: unknown;
  notifiedAt: number | null;
  openedAt: number | null;
  repliedAt: number | null;
  bouncedAt: number | null;
}

export interface SecureMessageView {
  id: string;
  sender: string;
  /** Null once shredded: the subject is sealed under the message's own data key. */
  subject: string | null;
  createdAt: number;
  retainUntil: number;
  revokedAt: number | null;
  shreddedAt: number | null;
  recipientCount: number;
}

export interface SecureMessageDetail extends SecureMessageView {
  recipients: SecureRecipientView[];
}

/** What the list can narrow to: a recipient's address (a part of it), and the message's state. */
export interface SecureMessageFilter {
  recipient?: string | undefined;
  /** active: neither revoked nor shredded; locked: a recipient's portal link is locked by wrong codes. */
  state?: 'active' | 'revoked' | 'shredded' | 'locked' | undefined;
}

/** `%` and `_` typed into a search box are literal characters, not wildcards (escaped with `\`). */
function likeEscaped(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

type MessageRow = SecureMessagesTable;
type RecipientRow = SecureRecipientsTable;

/**
 * The sender's controls over secure messages: what became of each recipient, and the means to
 * take a message back — revoking it (or one recipient's access) keeps the ciphertext but opens
 * nothing more; deleting shreds it. Tokens, code hashes and keys never leave this module.
 */
export function secureMessages(ctx: DirectoryContext, vault: () => SecureVault, organisationId: string = DEFAULT_ORGANISATION_ID) {
  const { db, clock } = ctx;

  const find = async (id: string): Promise<MessageRow> => {
    const row = await db
      .selectFrom('secure_messages')
      .selectAll()
      .where('id', '=', id.toUpperCase())
      .where('organisation_id', '=', organisationId)
      .executeTakeFirst();
    if (!row) throw new DirectoryError('not_found', `no secure message ${id}; see "relaygate secure list"`);
    return row;
  };

  const subjectOf = async (row: MessageRow): Promise<string | null> => {
    if (row.data_key_sealed === null) return null;
    try {
      return (await vault().unlock(row.id, { allowRevoked: true })).meta.subject;
    } catch (err) {
      if (err instanceof SecureMessageGone) return null;
      throw err;
    }
  };

  const view = async (row: MessageRow, recipientCount: number): Promise<SecureMessageView> => ({
    id: row.id,
    sender: row.sender,
    subject: await subjectOf(row),
    createdAt: Number(row.created_at),
    retainUntil: Number(row.retain_until),
    revokedAt: ms(row.revoked_at),
    shreddedAt: ms(row.shredded_at),
    recipientCount,
  });

  const recipientsOf = (id: string) => db.selectFrom('secure_recipients').selectAll().where('message_id', '=', id).orderBy('address').execute();

  const audited = (actor: Actor, action: string, targetId: string, detail: Record<string, unknown>) =>
    db.transaction().execute((trx) => appendAudit(trx, actor, { action, targetType: 'secure-message', targetId, detail }, clock.now()));

  return {
    /** Newest first; `filter` narrows to a recipient (part of the address) and to a state. */
    async list(page: PageRequest, filter: SecureMessageFilter = {}): Promise<Page<SecureMessageView>> {
      const recipient = filter.recipient?.trim().toLowerCase();
      const scoped = db
        .selectFrom('secure_messages')
        .where('organisation_id', '=', organisationId)
        .$if(recipient !== undefined && recipient !== '', (q) =>
          q.where((eb) =>
            eb.exists(
              eb
                .selectFrom('secure_recipients')
                .select('secure_recipients.id')
                .whereRef('secure_recipients.message_id', '=', 'secure_messages.id')
                .where(sql<boolean>`lower(${sql.ref('secure_recipients.address')}) like ${`%${likeEscaped(recipient ?? '')}%`} escape '\\'`),
            ),
          ),
        )
        .$if(filter.state === 'active', (q) => q.where('revoked_at', 'is', null).where('shredded_at', 'is', null))
        .$if(filter.state === 'revoked', (q) => q.where('revoked_at', 'is not', null).where('shredded_at', 'is', null))
        .$if(filter.state === 'shredded', (q) => q.where('shredded_at', 'is not', null))
        .$if(filter.state === 'locked', (q) =>
          q.where((eb) =>
            eb.exists(
              eb
                .selectFrom('secure_recipients')
                .select('secure_recipients.id')
                .whereRef('secure_recipients.message_id', '=', 'secure_messages.id')
                .where('secure_recipients.locked_at', 'is not', null),
            ),
          ),
        );
      const total = await scoped.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
      const rows = await scoped.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit).offset(page.offset).execute();
      const counts = await recipientCounts(
        db,
        rows.map((r) => r.id),
      );
      const items = await Promise.all(rows.map((r) => view(r, counts.get(r.id) ?? 0)));
      return { items, total: Number(total?.n ?? 0), ...page };
    },

    async show(id: string): Promise<SecureMessageDetail> {
      const row = await find(id);
      const recipients = await recipientsOf(row.id);
      return { ...(await view(row, recipients.length)), recipients: recipients.map(recipientView) };
    },

    /** Nothing more is sent or shown: the courier answers "nothing sent", the portal refuses, open sessions end. */
    async revoke(id: string, actor: Actor): Promise<SecureMessageDetail> {
      const row = await find(id);
      if (row.revoked_at === null) {
        const now = clock.now();
        await db.transaction().execute(async (trx) => {
          await trx.updateTable('secure_messages').set({ revoked_at: now }).where('id', '=', row.id).where('revoked_at', 'is', null).execute();
          await endSessions(trx, { messageId: row.id });
          await appendAudit(trx, actor, { action: 'secure.message.revoke', targetType: 'secure-message', targetId: row.id, detail: {} }, now);
        });
        await ctx.syncCommitted();
      }
      return this.show(row.id);
    },

    async revokeRecipient(id: string, address: string, actor: Actor): Promise<SecureMessageDetail> {
      const row = await find(id);
      const recipient = (await recipientsOf(row.id)).find((r) => r.address.toLowerCase() === address.trim().toLowerCase());
      if (!recipient) throw new DirectoryError('not_found', `secure message ${row.id} has no recipient ${address}; see "relaygate secure show ${row.id}"`);
      if (recipient.revoked_at === null) {
        const now = clock.now();
        await db.transaction().execute(async (trx) => {
          await trx.updateTable('secure_recipients').set({ revoked_at: now }).where('id', '=', recipient.id).where('revoked_at', 'is', null).execute();
          await endSessions(trx, { recipientId: recipient.id });
          const detail = { recipient: recipient.address };
          await appendAudit(trx, actor, { action: 'secure.recipient.revoke', targetType: 'secure-message', targetId: row.id, detail }, now);
        });
        await ctx.syncCommitted();
      }
      return this.show(row.id);
    },

    /**
     * Opens portal links that wrong codes locked (src/portal/link-lock.ts): one recipient's, or
     * every locked one of the message. The count starts again, any code in flight is void.
     */
    async unlock(id: string, address: string | undefined, actor: Actor): Promise<SecureMessageDetail> {
      const row = await find(id);
      const recipients = await recipientsOf(row.id);
      const named = address === undefined ? undefined : recipients.find((r) => r.address.toLowerCase() === address.trim().toLowerCase());
      if (address !== undefined && !named)
        throw new DirectoryError('not_found', `secure message ${row.id} has no recipient ${address}; see "relaygate secure show ${row.id}"`, 'address');
      const locked = (named ? [named] : recipients).filter((r) => r.locked_at !== null);
      if (locked.length === 0)
        throw new DirectoryError(
          'conflict',
          named ? `the portal link of ${named.address} is not locked` : `no portal link of secure message ${row.id} is locked`,
          'address',
        );
      const now = clock.now();
      await db.transaction().execute(async (trx) => {
        for (const r of locked) {
          await trx
            .updateTable('secure_recipients')
            .set({ locked_at: null, otp_failures: 0, otp_attempts: 0, otp_hash: null, otp_expires_at: null, otp_sent_at: null })
            .where('id', '=', r.id)
            .execute();
          const detail = `unlocked by ${actor.name}`;
          await trx.insertInto('events').values({ message_id: row.id, at: now, kind: 'portal-unlocked', recipient: r.address, detail }).execute();
          const audit = { recipient: r.address, wrongCodes: Number(r.otp_failures) };
          await appendAudit(trx, actor, { action: 'secure.recipient.unlock', targetType: 'secure-message', targetId: row.id, detail: audit }, now);
        }
      });
      await ctx.syncCommitted();
      return this.show(row.id);
    },

    /** Crypto-shredding: once the data key is gone no copy of the ciphertext opens again. The row stays for the log. */
    async shred(id: string, actor: Actor): Promise<SecureMessageDetail> {
      const row = await find(id);
      if (row.shredded_at === null) {
        await vault().shred(row.id, clock.now());
        await ctx.syncCommitted();
        await audited(actor, 'secure.message.shred', row.id, { reason: 'deleted' });
      }
      return this.show(row.id);
    },
  };
}

export type SecureMessages = ReturnType<typeof secureMessages>;

export function recipientState(r: RecipientRow): SecureRecipientState {
  if (r.bounced_at !== null) return 'bounced';
  if (r.replied_at !== null) return 'replied';
  if (r.opened_at !== null) return 'opened';
  if (r.status === 'delivered' && r.delivered_via === 'direct') return 'delivered';
  if (r.notified_at !== null) return 'notified';
  return 'pending';
}

function recipientView(r: RecipientRow): SecureRecipientView {
  return {
    address: r.address,
    status: recipientState(r),
    revoked: r.revoked_at !== null,
    revokedAt: ms(r.revoked_at),
    lockedAt: ms(r.locked_at),
    wrongCodes: Number(r.otp_failures),
    deliveredVia: r.delivered_via,
    fallbackReason: r.fallback_reason,
    evidence: r.evidence === null ? null : (JSON.parse(r.evidence) as unknown),
    notifiedAt: ms(r.notified_at),
    openedAt: ms(r.opened_at),
    repliedAt: ms(r.replied_at),
    bouncedAt: ms(r.bounced_at),
  };
}

/** Portal sessions of these recipients end now: a revoked reader is not left with an open page. */
async function endSessions(trx: Transaction<Database>, recipients: { messageId: string } | { recipientId: string }): Promise<void> {
  const ids =
    'recipientId' in recipients ? [recipients.recipientId] : trx.selectFrom('secure_recipients').select('id').where('message_id', '=', recipients.messageId);
  await trx.deleteFrom('portal_sessions').where('recipient_id', 'in', ids).execute();
}

async function recipientCounts(db: Db, ids: string[]): Promise<Map<string, number>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('secure_recipients')
    .select((eb) => ['message_id', eb.fn.countAll<number>().as('n')])
    .where('message_id', 'in', ids)
    .groupBy('message_id')
    .execute();
  return new Map(rows.map((r) => [r.message_id, Number(r.n)]));
}

const ms = (value: number | null): number | null => (value === null ? null : Number(value));
