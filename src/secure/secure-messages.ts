import type { Actor, DirectoryContext, Page, PageRequest } from '../directory/context.js';
import { DirectoryError } from '../model/directory-error.js';
import { DEFAULT_ORGANISATION_ID } from '../model/organisation.js';
import type { SecureMessageRecord, SecureMessageStore, SecureRecipientRecord } from './secure-message-store.js';
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

type MessageRow = SecureMessageRecord;
type RecipientRow = SecureRecipientRecord;

/**
 * The sender's controls over secure messages: what became of each recipient, and the means to
 * take a message back — revoking it (or one recipient's access) keeps the ciphertext but opens
 * nothing more; deleting shreds it. Tokens, code hashes and keys never leave this module.
 */
export function secureMessages(
  stores: { messages: SecureMessageStore },
  deps: Pick<DirectoryContext, 'clock' | 'syncCommitted'> & { vault: () => SecureVault },
  organisationId: string = DEFAULT_ORGANISATION_ID,
) {
  const { messages } = stores;
  const { clock, vault } = deps;

  const find = async (id: string): Promise<MessageRow> => {
    const row = await messages.find(id.toUpperCase(), organisationId);
    if (!row) throw new DirectoryError('not_found', `no secure message ${id}; see "relaygate secure list"`);
    return row;
  };

  const subjectOf = async (row: MessageRow): Promise<string | null> => {
    if (row.dataKeySealed === null) return null;
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
    createdAt: row.createdAt,
    retainUntil: row.retainUntil,
    revokedAt: row.revokedAt,
    shreddedAt: row.shreddedAt,
    recipientCount,
  });

  const recipientsOf = (id: string) => messages.recipients(id);

  const audited = (actor: Actor, action: string, targetId: string, detail: Record<string, unknown>) =>
    messages.change((tx) => tx.audit(actor, { action, targetType: 'secure-message', targetId, detail }, clock.now()));

  return {
    /** Newest first; `filter` narrows to a recipient (part of the address) and to a state. */
    async list(page: PageRequest, filter: SecureMessageFilter = {}): Promise<Page<SecureMessageView>> {
      const recipient = filter.recipient?.trim().toLowerCase();
      const { items: rows, total } = await messages.list({ organisationId, recipient, state: filter.state }, page);
      const items = await Promise.all(rows.map((r) => view(r.message, r.recipientCount)));
      return { items, total, ...page };
    },

    async show(id: string): Promise<SecureMessageDetail> {
      const row = await find(id);
      const recipients = await recipientsOf(row.id);
      return { ...(await view(row, recipients.length)), recipients: recipients.map(recipientView) };
    },

    /** Nothing more is sent or shown: the courier answers "nothing sent", the portal refuses, open sessions end. */
    async revoke(id: string, actor: Actor): Promise<SecureMessageDetail> {
      const row = await find(id);
      if (row.revokedAt === null) {
        const now = clock.now();
        await messages.change(async (tx) => {
          await tx.revoke(row.id, now);
          await tx.audit(actor, { action: 'secure.message.revoke', targetType: 'secure-message', targetId: row.id, detail: {} }, now);
        });
        await deps.syncCommitted();
      }
      return this.show(row.id);
    },

    async revokeRecipient(id: string, address: string, actor: Actor): Promise<SecureMessageDetail> {
      const row = await find(id);
      const recipient = (await recipientsOf(row.id)).find((r) => r.address.toLowerCase() === address.trim().toLowerCase());
      if (!recipient) throw new DirectoryError('not_found', `secure message ${row.id} has no recipient ${address}; see "relaygate secure show ${row.id}"`);
      if (recipient.revokedAt === null) {
        const now = clock.now();
        await messages.change(async (tx) => {
          await tx.revokeRecipient(recipient.id, now);
          const detail = { recipient: recipient.address };
          await tx.audit(actor, { action: 'secure.recipient.revoke', targetType: 'secure-message', targetId: row.id, detail }, now);
        });
        await deps.syncCommitted();
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
      const locked = (named ? [named] : recipients).filter((r) => r.lockedAt !== null);
      if (locked.length === 0)
        throw new DirectoryError(
          'conflict',
          named ? `the portal link of ${named.address} is not locked` : `no portal link of secure message ${row.id} is locked`,
          'address',
        );
      const now = clock.now();
      await messages.change(async (tx) => {
        for (const r of locked) {
          await tx.unlockRecipient(r.id);
          const detail = `unlocked by ${actor.name}`;
          await tx.recordEvent({ messageId: row.id, at: now, kind: 'portal-unlocked', recipient: r.address, detail });
          const audit = { recipient: r.address, wrongCodes: r.wrongCodes };
          await tx.audit(actor, { action: 'secure.recipient.unlock', targetType: 'secure-message', targetId: row.id, detail: audit }, now);
        }
      });
      await deps.syncCommitted();
      return this.show(row.id);
    },

    /** Crypto-shredding: once the data key is gone no copy of the ciphertext opens again. The row stays for the log. */
    async shred(id: string, actor: Actor): Promise<SecureMessageDetail> {
      const row = await find(id);
      if (row.shreddedAt === null) {
        await vault().shred(row.id, clock.now());
        await deps.syncCommitted();
        await audited(actor, 'secure.message.shred', row.id, { reason: 'deleted' });
      }
      return this.show(row.id);
    },
  };
}

export type SecureMessages = ReturnType<typeof secureMessages>;

export function recipientState(r: RecipientRow): SecureRecipientState {
  if (r.bouncedAt !== null) return 'bounced';
  if (r.repliedAt !== null) return 'replied';
  if (r.openedAt !== null) return 'opened';
  if (r.status === 'delivered' && r.deliveredVia === 'direct') return 'delivered';
  if (r.notifiedAt !== null) return 'notified';
  return 'pending';
}

function recipientView(r: RecipientRow): SecureRecipientView {
  return {
    address: r.address,
    status: recipientState(r),
    revoked: r.revokedAt !== null,
    revokedAt: r.revokedAt,
    lockedAt: r.lockedAt,
    wrongCodes: r.wrongCodes,
    deliveredVia: r.deliveredVia,
    fallbackReason: r.fallbackReason,
    evidence: r.evidence === null ? null : (JSON.parse(r.evidence) as unknown),
    notifiedAt: r.notifiedAt,
    openedAt: r.openedAt,
    repliedAt: r.repliedAt,
    bouncedAt: r.bouncedAt,
  };
}
