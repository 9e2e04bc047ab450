import type { Kysely } from 'kysely';
import type { SecureSettingsReads, SecureSettingsStore, SecureSettingsValues } from '../../secure/secure-settings-store.js';
import { appendAudit } from '../audit/append-audit.js';
import type { Database, Db } from '../tables.js';

function reads(db: Kysely<Database>): SecureSettingsReads {
  return {
    async settings(organisationId) {
      const row = await db
        .selectFrom('organisations')
        .select([
          'secure_retention_days',
          'read_receipts',
          'read_receipt_format',
          'neutral_subject',
          'locale',
          'time_zone',
          'brand_name',
          'brand_colour',
          'brand_logo',
          'brand_logo_type',
        ])
        .where('id', '=', organisationId)
        .executeTakeFirst();
      if (!row) return undefined;
      return {
        retentionDays: Number(row.secure_retention_days),
        readReceipts: Number(row.read_receipts) === 1,
        readReceiptFormat: row.read_receipt_format,
        neutralSubject: Number(row.neutral_subject) === 1,
        locale: row.locale,
        timeZone: row.time_zone,
        brandName: row.brand_name,
        brandColour: row.brand_colour,
        brandLogo: row.brand_logo ? Buffer.from(row.brand_logo) : null,
        brandLogoType: row.brand_logo_type,
      };
    },
  };
}

const flag = (value: boolean): number => (value ? 1 : 0);

/** Only the fields given, as columns. */
function columns(v: SecureSettingsValues) {
  return {
    ...(v.retentionDays !== undefined ? { secure_retention_days: v.retentionDays } : {}),
    ...(v.readReceipts !== undefined ? { read_receipts: flag(v.readReceipts) } : {}),
    ...(v.readReceiptFormat !== undefined ? { read_receipt_format: v.readReceiptFormat } : {}),
    ...(v.neutralSubject !== undefined ? { neutral_subject: flag(v.neutralSubject) } : {}),
    ...(v.locale !== undefined ? { locale: v.locale } : {}),
    ...(v.timeZone !== undefined ? { time_zone: v.timeZone } : {}),
    ...(v.brandName !== undefined ? { brand_name: v.brandName } : {}),
    ...(v.brandColour !== undefined ? { brand_colour: v.brandColour } : {}),
    ...(v.brandLogo !== undefined ? { brand_logo: v.brandLogo?.content ?? null, brand_logo_type: v.brandLogo?.type ?? null } : {}),
  };
}

/** The organisation's secure settings and branding (columns of organisations). */
export function sqlSecureSettingsStore(db: Db): SecureSettingsStore {
  return {
    ...reads(db),
    change: (work) =>
      db.transaction().execute((trx) =>
        work({
          async update(organisationId, values) {
            await trx.updateTable('organisations').set(columns(values)).where('id', '=', organisationId).execute();
          },
          audit: (actor, entry, at) => appendAudit(trx, actor, entry, at),
        }),
      ),
  };
}
