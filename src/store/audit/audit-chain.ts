import type { Kysely, KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import type { AuditHead, HeadFile } from '../../audit/audit-head.js';
import type { AuditKey } from '../../audit/audit-key.js';
import type { AuditKeying, ChainedContent } from '../../audit/audit-store.js';
import type { Database, Db } from '../tables.js';

/** How long an appended record may stay uncommitted before the head stops waiting for it. */
const CONFIRM_GIVE_UP_MS = 30_000;
const CONFIRM_RETRY_MS = 50;

/**
 * The audit key and the head anchored outside the database, carried by the store's Kysely
 * instance as a (pass-through) plugin: transactions inherit their parent's plugins, so
 * `appendAudit(trx, …)`, called from every aggregate inside its own transaction, finds the
 * key without each caller handing it down.
 *
 * The head is written only for a record seen committed: appendAudit runs inside the
 * caller's transaction, which may still roll back, and a head naming a record that never
 * was would read as truncation. A head that lags (a crash between commit and write) only
 * anchors a little less.
 */
export class AuditChain implements KyselyPlugin {
  readonly key: AuditKey;
  readonly headFile: HeadFile | undefined;
  private pending: Array<{ head: AuditHead; since: number }> = [];
  private confirming: Promise<void> | undefined;
  private db: Db | undefined;
  private listeners: Array<(head: AuditHead) => void> = [];

  constructor(keying: AuditKeying) {
    this.key = keying.key;
    this.headFile = keying.headFile;
  }

  /** HMAC-SHA256 under the audit key of the previous hash and the record (canonical JSON). */
  mac(prevHash: string, content: ChainedContent): string {
    return this.key.mac(prevHash, content);
  }

  /** Called once the store's db carries this plugin: the head is confirmed through it, outside any transaction. */
  attach(db: Db): void {
    this.db = db;
  }

  /** Told of every head written, e.g. to log it to the log stream. */
  onHead(listener: (head: AuditHead) => void): void {
    this.listeners.push(listener);
  }

  appended(head: AuditHead): void {
    if (!this.db) return;
    const db = this.db;
    if (!db) return;
    this.pending.push({ head, since: Date.now() });
    this.confirming ??= this.confirm(db).finally(() => {
      this.confirming = undefined;
    });
  }

  /**
   * Records appended in a transaction its caller rolled back on purpose (a directory pull's dry
   * run): they will never commit, so nothing waits out CONFIRM_GIVE_UP_MS for them.
   */
  rolledBack(heads: AuditHead[]): void {
    this.pending = this.pending.filter((p) => !heads.some((h) => h.seq === p.head.seq && h.hash === p.head.hash));
  }

  /** Resolves once every appended record is anchored (or known not to have committed). */
  async settle(): Promise<void> {
    while (this.confirming) await this.confirming;
  }

  private async confirm(db: Db): Promise<void> {
    while (this.pending.length > 0) {
      const newest = this.pending.reduce((a, b) => (b.head.seq > a.head.seq ? b : a));
      const row = await db
        .selectFrom('audit_log')
        .select('hash')
        .where('seq', '=', newest.head.seq)
        .executeTakeFirst()
        .catch(() => undefined);
      if (row?.hash === newest.head.hash) {
        this.pending = this.pending.filter((p) => p.head.seq > newest.head.seq);
        this.anchor(newest.head);
      } else if (row || Date.now() - newest.since > CONFIRM_GIVE_UP_MS) {
        // Rolled back (its number now holds another record, or never came): forget it.
        this.pending = this.pending.filter((p) => p !== newest);
      } else {
        await new Promise((resolve) => setTimeout(resolve, CONFIRM_RETRY_MS));
      }
    }
  }

  private anchor(head: AuditHead): void {
    if (this.headFile?.advance(head, this.key.signHead(head)) === false) return;
    for (const listener of this.listeners) listener(head);
  }

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

/** The chain a store's db (or a transaction of it) carries; openStore puts it there. */
export function auditChainOf(db: Kysely<Database>): AuditChain {
  // getExecutor is marked internal in Kysely's types but is how a transaction's plugins are reached.
  const chain = db.getExecutor().plugins.find((p): p is AuditChain => p instanceof AuditChain);
  if (!chain) throw new Error('the audit log needs its key: open the store through openStore');
  return chain;
}
