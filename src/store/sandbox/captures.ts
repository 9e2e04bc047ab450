import type { Page, PageRequest } from '../../directory/context.js';
import type { DkimVerdict, SandboxDecision } from '../../sandbox/mailbox.js';
import type { CaptureRecord } from '../../sandbox/sandbox-store.js';
import type { Db, SandboxMessagesTable } from '../tables.js';

/** Everything but the bytes, which only captureBytes reads. */
const LISTED = ['id', 'captured_at', 'kind', 'queue_id', 'mail_from', 'recipients', 'subject', 'size_bytes', 'decision', 'dkim'] as const;

export async function listCaptures(db: Db, page: PageRequest): Promise<Page<CaptureRecord>> {
  const total = await db
    .selectFrom('sandbox_messages')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirst();
  const rows = await db
    .selectFrom('sandbox_messages')
    .select(LISTED)
    .orderBy('captured_at', 'desc')
    .orderBy('id', 'desc')
    .limit(page.limit)
    .offset(page.offset)
    .execute();
  return { items: rows.map(toRecord), total: Number(total?.n ?? 0), ...page };
}

export async function findCapture(db: Db, id: string): Promise<CaptureRecord | undefined> {
  const row = await db.selectFrom('sandbox_messages').select(LISTED).where('id', '=', id).executeTakeFirst();
  return row && toRecord(row);
}

export function toRow(c: CaptureRecord, raw: Buffer | null): SandboxMessagesTable {
  return {
    id: c.id,
    captured_at: c.capturedAt,
    kind: c.kind,
    queue_id: c.queueId,
    mail_from: c.mailFrom,
    recipients: JSON.stringify(c.recipients),
    subject: c.subject,
    size_bytes: c.sizeBytes,
    decision: JSON.stringify(c.decision),
    dkim: JSON.stringify(c.dkim),
    raw,
  };
}

function toRecord(row: Omit<SandboxMessagesTable, 'raw'>): CaptureRecord {
  return {
    id: row.id,
    capturedAt: Number(row.captured_at),
    kind: row.kind,
    queueId: row.queue_id,
    mailFrom: row.mail_from,
    recipients: JSON.parse(row.recipients) as string[],
    subject: row.subject,
    sizeBytes: Number(row.size_bytes),
    decision: JSON.parse(row.decision) as SandboxDecision,
    dkim: JSON.parse(row.dkim) as DkimVerdict[],
  };
}
