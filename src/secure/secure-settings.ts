import { appendAudit } from '../audit/audit-log.js';
import type { Actor, DirectoryContext } from '../directory/context.js';
import { invalid, notFound } from '../directory/errors.js';
import { DEFAULT_ORGANISATION_ID } from '../store/migrations/0002-directory.js';

export interface SecureSettings {
  /** Days a secure message stays readable; then it is shredded. Applies to messages accepted from now on. */
  retentionDays: number;
  /** The sender gets a read receipt when a recipient first opens a message. */
  readReceipts: boolean;
  /** Notifications say "Secure message from …" instead of repeating the subject line. */
  neutralSubject: boolean;
}

export interface SecureSettingsPatch {
  retentionDays?: number | undefined;
  readReceipts?: boolean | undefined;
  neutralSubject?: boolean | undefined;
}

/** Ten years: beyond that a retention period is a mistake, not a policy. */
export const MAX_RETENTION_DAYS = 3650;

/** The organisation's settings for secure messages, changed with an audit record. */
export function secureSettings(ctx: Pick<DirectoryContext, 'db' | 'clock'>, organisationId: string = DEFAULT_ORGANISATION_ID) {
  const { db, clock } = ctx;

  const get = async (): Promise<SecureSettings> => {
    const row = await db
      .selectFrom('organisations')
      .select(['secure_retention_days', 'read_receipts', 'neutral_subject'])
      .where('id', '=', organisationId)
      .executeTakeFirst();
    if (!row) throw notFound('organisation', organisationId);
    return { retentionDays: Number(row.secure_retention_days), readReceipts: row.read_receipts === 1, neutralSubject: row.neutral_subject === 1 };
  };

  return {
    get,

    async update(patch: SecureSettingsPatch, actor: Actor): Promise<SecureSettings> {
      const values = {
        ...(patch.retentionDays !== undefined ? { secure_retention_days: checkRetentionDays(patch.retentionDays) } : {}),
        ...(patch.readReceipts !== undefined ? { read_receipts: flag('readReceipts', patch.readReceipts) } : {}),
        ...(patch.neutralSubject !== undefined ? { neutral_subject: flag('neutralSubject', patch.neutralSubject) } : {}),
      };
      if (Object.keys(values).length === 0) throw invalid('(request)', 'say what to change: retentionDays, readReceipts or neutralSubject');
      const before = await get();
      await db.transaction().execute(async (trx) => {
        await trx.updateTable('organisations').set(values).where('id', '=', organisationId).execute();
        const detail = { from: before, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) };
        await appendAudit(trx, actor, { action: 'secure.settings.update', targetType: 'organisation', targetId: organisationId, detail }, clock.now());
      });
      return get();
    },
  };
}

export type SecureSettingsService = ReturnType<typeof secureSettings>;

function checkRetentionDays(days: number): number {
  if (!Number.isInteger(days) || days < 1 || days > MAX_RETENTION_DAYS)
    throw invalid('retentionDays', `retentionDays must be a whole number of days from 1 to ${MAX_RETENTION_DAYS}, not ${days}`);
  return days;
}

function flag(field: string, value: boolean): number {
  if (typeof value !== 'boolean') throw invalid(field, `${field} must be true or false`);
  return value ? 1 : 0;
}
