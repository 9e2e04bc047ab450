import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page, PageRequest } from '../directory/context.js';
import { newId } from '../lib/ids.js';
import type { SealedCopies } from '../secure/sealed-captures.js';
import { SealedBodyGone } from '../secure/sealing-spool.js';
import type { CaptureKind, CaptureRecord, SandboxStore } from './sandbox-store.js';

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

export type CapturedMessage = CaptureRecord;

export interface NewCapture {
  kind: CaptureKind;
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
export function sandboxMailbox(stores: { sandbox: SandboxStore }, o: { dataDir: string; sealing: SealedCopies }) {
  const { sandbox: store } = stores;
  const dir = join(o.dataDir, 'sandbox');
  const inRows = store.bytesInRows;
  const pathOf = (id: string, kind: CaptureKind) => join(dir, `${id}.${kind === 'webhook' ? 'json' : 'eml'}`);

  return {
    async capture(c: NewCapture): Promise<CapturedMessage> {
      const id = newId('sbx');
      const sealed = await o.sealing.sealLike(c.queueId, id, c.raw);
      const stored = sealed ?? c.raw;
      if (!inRows) await writeSynced(dir, pathOf(id, c.kind), stored);
      const captured: CapturedMessage = {
        id,
        capturedAt: c.now,
        kind: c.kind,
        queueId: c.queueId,
        mailFrom: c.mailFrom,
        recipients: c.recipients,
        subject: sealed ? null : c.subject,
        sizeBytes: c.raw.length,
        decision: c.decision,
        dkim: c.dkim,
      };
      await store.insertCapture(captured, inRows ? stored : null);
      return captured;
    },

    list(page: PageRequest): Promise<Page<CapturedMessage>> {
      return store.listCaptures(page);
    },

    async show(id: string): Promise<CapturedMessage> {
      const found = await store.findCapture(id);
      if (!found) throw new CaptureNotFound(id);
      return found;
    },

    async raw(id: string): Promise<Buffer> {
      const row = await store.captureBytes(id);
      if (!row) throw new CaptureNotFound(id);
      const stored = row.raw ?? (await readFile(pathOf(id, row.kind)));
      return o.sealing.open(id, stored).catch((err: unknown) => {
        throw err instanceof SealedBodyGone ? new CaptureNotFound(id, `captured message ${id} was shredded with the secure message it answers`) : err;
      });
    },

    /** Empties the mailbox; returns how many messages were removed. */
    async clear(): Promise<number> {
      await o.sealing.forget(await store.captureIds());
      const deleted = await store.removeCaptures();
      await rm(dir, { recursive: true, force: true });
      return deleted;
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
