import { sql } from 'kysely';
import type { PageRequest } from '../../directory/context.js';
import type { SecureMessageQuery, SecureMessageReads } from '../../secure/secure-message-store.js';
import type { Db } from '../tables.js';
import { messageRecord } from './records.js';

/** `%` and `_` typed into a search box are literal characters, not wildcards (escaped with `\`). */
function likeEscaped(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Newest first; narrowed to a recipient (part of the address) and to a state. */
export async function listSecureMessages(db: Db, query: SecureMessageQuery, page: PageRequest): ReturnType<SecureMessageReads['list']> {
  const recipient = query.recipient;
  const scoped = db
    .selectFrom('secure_messages')
    .where('organisation_id', '=', query.organisationId)
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
    .$if(query.state === 'active', (q) => q.where('revoked_at', 'is', null).where('shredded_at', 'is', null))
    .$if(query.state === 'revoked', (q) => q.where('revoked_at', 'is not', null).where('shredded_at', 'is', null))
    .$if(query.state === 'shredded', (q) => q.where('shredded_at', 'is not', null))
    .$if(query.state === 'locked', (q) =>
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
  return { items: rows.map((r) => ({ message: messageRecord(r), recipientCount: counts.get(r.id) ?? 0 })), total: Number(total?.n ?? 0) };
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
