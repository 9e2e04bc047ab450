import type { ConsoleWatch } from '../../console/console-deps.js';
import { appendAudit } from '../audit/append-audit.js';
import { messageLog } from '../message-log.js';
import type { Db } from '../tables.js';
import { trafficStats } from '../traffic-stats.js';

/** What the console's watch pages read: the message log, the dashboard's numbers, the audit log's actions. */
export function sqlConsoleWatch(db: Db): ConsoleWatch {
  const log = messageLog(db);
  const stats = trafficStats(db);
  return {
    searchMessages: (search, page) => log.search(search, page),
    messageOrigin: (id) => log.origin(id),
    lastDay: (now) => stats.lastDay(now),
    queueDepth: () => stats.queueDepth(),
    async auditActions() {
      return (await db.selectFrom('audit_log').select('action').distinct().orderBy('action').execute()).map((r) => r.action);
    },
    audit: (actor, entry, at) => db.transaction().execute((trx) => appendAudit(trx, actor, entry, at)),
  };
}
