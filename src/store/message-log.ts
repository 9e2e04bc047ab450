import { type ExpressionBuilder, sql } from 'kysely';
import type { GatewayMailKind, MessageLogEntry, MessageOrigin, MessageSearch } from '../console/watch/message-log-records.js';
import type { Page, PageRequest } from '../directory/context.js';
import type { Database, Db } from './tables.js';

const GATEWAY_MAIL: readonly string[] = ['secure-reply', 'read-receipt', 'non-delivery-report'];

/** The origin a gateway-written inbound mail records in its authentication facts (src/inbound/gateway-record.ts). */
function gatewayMailOf(authentication: string | null): GatewayMailKind | null {
  if (!authentication) return null;
  try {
    const origin = (JSON.parse(authentication) as { origin?: unknown }).origin;
    return typeof origin === 'string' && GATEWAY_MAIL.includes(origin) ? (origin as GatewayMailKind) : null;
  } catch {
    return null;
  }
}

/** `%` and `_` typed into a search box are literal characters, not wildcards (escaped with `\`). */
function containing(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, '\\$&')}%`;
}

/** `lower(column) LIKE pattern ESCAPE '\'`: the same meaning in SQLite and PostgreSQL (whose LIKE is case-sensitive). */
function likeLower(column: string, text: string) {
  return sql<boolean>`lower(${sql.ref(column)}) like ${containing(text)} escape '\\'`;
}

function matching(eb: ExpressionBuilder<Database, 'messages'>, search: MessageSearch) {
  const conditions = [];
  if (search.sender) conditions.push(likeLower('messages.mail_from', search.sender));
  if (search.subject) conditions.push(likeLower('messages.subject', search.subject));
  if (search.id) conditions.push(eb('messages.id', 'like', `${search.id.toUpperCase().replace(/[^0-9A-Z]/g, '')}%`));
  if (search.direction) conditions.push(eb('messages.direction', '=', search.direction));
  if (search.recipient || search.status) {
    let recipients = eb.selectFrom('recipients').select('recipients.message_id');
    if (search.recipient) recipients = recipients.where(likeLower('recipients.address', search.recipient));
    if (search.status) recipients = recipients.where('recipients.status', '=', search.status);
    conditions.push(eb('messages.id', 'in', recipients));
  }
  return eb.and(conditions);
}

/**
 * The console's message log over the queue tables: search and paging, newest first, and the
 * origin of one message. Read-only; the queue store stays the only writer.
 */
export function messageLog(db: Db) {
  return {
    async search(search: MessageSearch, page: PageRequest): Promise<Page<MessageLogEntry>> {
      const where = (eb: ExpressionBuilder<Database, 'messages'>) => matching(eb, search);
      const total = await db
        .selectFrom('messages')
        .where(where)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirst();
      const onPage = await db
        .selectFrom('messages')
        .where(where)
        .select(['id', 'direction', 'mail_from', 'subject', 'size_bytes', 'received_at', 'completed_at', 'is_dsn'])
        .orderBy('received_at', 'desc')
        .orderBy('id', 'desc')
        .limit(page.limit)
        .offset(page.offset)
        .execute();
      const ids = onPage.map((r) => r.id);
      // What the gateway wrote itself, what it answers, and the state of secure messages: one query each for the page.
      const [inbound, sealed, secure] =
        ids.length === 0
          ? [[], [], []]
          : await Promise.all([
              db.selectFrom('inbound_messages').select(['message_id', 'authentication']).where('message_id', 'in', ids).execute(),
              db.selectFrom('sealed_bodies').select(['message_id', 'secure_message_id']).where('message_id', 'in', ids).execute(),
              db.selectFrom('secure_messages').select(['id', 'revoked_at', 'shredded_at']).where('id', 'in', ids).execute(),
            ]);
      const rows = onPage.map((m) => ({
        ...m,
        gatewayMail: gatewayMailOf(inbound.find((i) => i.message_id === m.id)?.authentication ?? null),
        answers: sealed.find((b) => b.message_id === m.id)?.secure_message_id ?? null,
        secure: secure.find((x) => x.id === m.id),
      }));
      const recipients =
        rows.length === 0
          ? []
          : await db
              .selectFrom('recipients')
              .select(['message_id', 'address', 'status'])
              .where(
                'message_id',
                'in',
                rows.map((r) => r.id),
              )
              .orderBy('position')
              .execute();
      const items = rows.map(
        (m): MessageLogEntry => ({
          id: m.id,
          direction: m.direction,
          mailFrom: m.mail_from,
          subject: m.subject,
          sizeBytes: Number(m.size_bytes),
          receivedAt: Number(m.received_at),
          completedAt: m.completed_at === null ? null : Number(m.completed_at),
          isDsn: m.is_dsn === 1,
          recipients: recipients.filter((r) => r.message_id === m.id).map((r) => ({ address: r.address, status: r.status })),
          gatewayMail: m.gatewayMail,
          answers: m.answers,
          secure: m.secure ? { revoked: m.secure.revoked_at !== null, shredded: m.secure.shredded_at !== null } : null,
        }),
      );
      return { items, total: Number(total?.n ?? 0), limit: page.limit, offset: page.offset };
    },

    async origin(id: string): Promise<MessageOrigin | undefined> {
      const row = await db
        .selectFrom('messages')
        .leftJoin('credentials', 'credentials.id', 'messages.credential_id')
        .select([
          'messages.subject',
          'messages.client_ip',
          'messages.env_id',
          'messages.tls_required',
          'messages.credential_id',
          'credentials.username',
          'credentials.description',
        ])
        .where('messages.id', '=', id)
        .executeTakeFirst();
      if (!row) return undefined;
      return {
        subject: row.subject,
        clientIp: row.client_ip,
        envId: row.env_id,
        tlsRequired: row.tls_required,
        credential: row.credential_id ? { id: row.credential_id, username: row.username ?? '', description: row.description ?? '' } : null,
      };
    },
  };
}

export type MessageLog = ReturnType<typeof messageLog>;
