import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page, PageRequest } from '../directory/context.js';
import { newId } from '../lib/ids.js';
import type { SealedCopies } from '../secure/sealed-captures.js';
import { SealedBodyGone } from '../secure/sealing-spool.js';
import { engineOf } from '../store/engine.js';
import type { Db, SandboxMessagesTable } from '../store/tables.js';

/** Where the delivery would have gone, decided exactly as delivery decides it, without connecting. */
export interface SandboxDecision {
  /** The route of the envelope sender (secure, relay), or what the mail is (dsn, notification…). */
  route: string;
  /** smarthost host:port, `mx <domain>`, `webhook`, or `none`. */
  nextHop: string;
  /** The TLS policy that would have applied, in words. */
  tls: string;
}

export interface DkimVerdict {
  domain: string;
  selector: string;
  result: string;
  comment: string;
}

export interface CapturedMessage {
  id: string;
  capturedAt: number;
  kind: SandboxMessagesTable['kind'];
  queueId: string;
  mailFrom: string;
  recipients: string[];
  subject: string | null;
  sizeBytes: number;
  decision: SandboxDecision;
  dkim: DkimVerdict[];
}

export interface NewCapture {
  kind: SandboxMessagesTable['kind'];
  queueId: string;
  mailFrom: string;
  recipients: string[];
  subject: string | null;
  decision: SandboxDecision;
  dkim: DkimVerdict[];
  raw: Buffer;
  now: number;
}

export class CaptureNotFound extends Error {
  constructor(id: string, message = `no captured message ${id} in the sandbox; see "relaygate sandbox list"`) {
    super(message);
    this.name = 'CaptureNotFound';
  }
}

/**
 * The sandbox's mailbox: what would have been sent, kept in the data directory, or in its
 * row on PostgreSQL, where the instance showing the mailbox may not be the one that
 * captured. A capture is what the gateway counts as delivered, so its file is synced before
 * its row is written: a crash never leaves a delivered message that the mailbox lost. A
 * capture of a sealed body (a secure reply) is kept sealed like it, without its subject,
 * and is shredded with the secure message it answers.
 */
export function sandboxMailbox(o: { db: Db; dataDir: string; sealing: SealedCopies }) {
  const dir = join(o.dataDir, 'sandbox');
  const inRows = engineOf(o.db) === 'postgres';
  const pathOf = (id: string, kind: SandboxMessagesTable['kind']) => join(dir, `${id}.${kind === 'webhook' ? 'json' : 'eml'}`);

  return {
    async capture(c: NewCapture): Promise<CapturedMessage> {
      const id = newId('sbx');
      const sealed = await o.sealing.sealLike(c.queueId, id, c.raw);
      const stored = sealed ?? c.raw;
      if (!inRows) await writeSynced(dir, pathOf(id, c.kind), stored);
      const row: SandboxMessagesTable = {
        id,
        captured_at: c.now,
        kind: c.kind,
        queue_id: c.queueId,
        mail_from: c.mailFrom,
        recipients: JSON.stringify(c.recipients),
        subject: sealed ? null : c.subject,
        size_bytes: c.raw.length,
        decision: JSON.stringify(c.decision),
        dkim: JSON.stringify(c.dkim),
        raw: inRows ? stored : null,
      };
      await o.db.insertInto('sandbox_messages').values(row).execute();
      return toCaptured(row);
    },

    async list(page: PageRequest): Promise<Page<CapturedMessage>> {
      const total = await o.db
        .selectFrom('sandbox_messages')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirst();
      const rows = await o.db
        .selectFrom('sandbox_messages')
        .select(LISTED)
        .orderBy('captured_at', 'desc')
        .orderBy('id', 'desc')
        .limit(page.limit)
        .offset(page.offset)
        .execute();
      return { items: rows.map(toCaptured), total: Number(total?.n ?? 0), ...page };
    },

    async show(id: string): Promise<CapturedMessage> {
      const row = await o.db.selectFrom('sandbox_messages').select(LISTED).where('id', '=', id).executeTakeFirst();
      if (!row) throw new CaptureNotFound(id);
      return toCaptured(row);
    },

    async raw(id: string): Promise<Buffer> {
      const row = await o.db.selectFrom('sandbox_messages').select(['id', 'kind', 'raw']).where('id', '=', id).executeTakeFirst();
      if (!row) throw new CaptureNotFound(id);
      const stored = row.raw ? Buffer.from(row.raw) : await readFile(pathOf(row.id, row.kind));
      return o.sealing.open(row.id, stored).catch((err: unknown) => {
        throw err instanceof SealedBodyGone ? new CaptureNotFound(id, `captured message ${id} was shredded with the secure message it answers`) : err;
      });
    },

    /** Empties the mailbox; returns how many messages were removed. */
    async clear(): Promise<number> {
      const ids = await o.db.selectFrom('sandbox_messages').select('id').execute();
      await o.sealing.forget(ids.map((r) => r.id));
      const deleted = await o.db.deleteFrom('sandbox_messages').executeTakeFirst();
      await rm(dir, { recursive: true, force: true });
      return Number(deleted.numDeletedRows);
    },
  };
}

export type SandboxMailbox = ReturnType<typeof sandboxMailbox>;

async function writeSynced(dir: string, path: string, raw: Buffer): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = await open(path, 'wx', 0o600);
  try {
    await file.writeFile(raw);
    await file.datasync();
  } finally {
    await file.close();
  }
}

/** Everything but the bytes, which only raw() reads. */
const LISTED = ['id', 'captured_at', 'kind', 'queue_id', 'mail_from', 'recipients', 'subject', 'size_bytes', 'decision', 'dkim'] as const;

function toCaptured(row: Omit<SandboxMessagesTable, 'raw'>): CapturedMessage {
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
