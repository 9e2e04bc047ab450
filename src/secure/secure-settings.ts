import { createHash } from 'node:crypto';
import type { Actor, DirectoryContext } from '../directory/context.js';
import { isLocale, LOCALES, type Locale } from '../i18n/index.js';
import { invalid, notFound } from '../model/directory-error.js';
import { DEFAULT_ORGANISATION_ID } from '../model/organisation.js';
import { checkBrandColour } from './brand-colour.js';
import { checkBrandLogo, type LogoType } from './brand-logo.js';
import { MAX_RETENTION_DAYS } from './retention-limit.js';
import type { SecureSettingsReads, SecureSettingsStore, SecureSettingsValues } from './secure-settings-store.js';

export type ReadReceiptFormat = 'text' | 'mdn';
export const READ_RECEIPT_FORMATS: readonly ReadReceiptFormat[] = ['text', 'mdn'];

export interface SecureSettings {
  /** Days a secure message stays readable; then it is shredded. Applies to messages accepted from now on. */
  retentionDays: number;
  /** The sender gets a read receipt when a recipient first opens a message. */
  readReceipts: boolean;
  /** `text`: a plain mail for people; `mdn`: an RFC 8098 disposition notification for applications that parse receipts. */
  readReceiptFormat: ReadReceiptFormat;
  /** Notifications say "Secure message from …" instead of repeating the subject line. */
  neutralSubject: boolean;
  /** The language of recipient mails when the message has no Content-Language the portal speaks. */
  locale: Locale;
  /** The IANA time zone of the dates recipients read (e.g. Europe/Amsterdam). */
  timeZone: string;
  /** Shown on the portal and in notifications; null: the portal's own name. */
  brandName: string | null;
  /** `#rrggbb` for buttons and links; null: the default blue. */
  brandColour: string | null;
  /** The logo's type and size, or null when there is none (the bytes are served by the portal). */
  brandLogo: { type: LogoType; sizeBytes: number; sha256: string } | null;
}

export interface SecureSettingsPatch {
  retentionDays?: number | undefined;
  readReceipts?: boolean | undefined;
  readReceiptFormat?: string | undefined;
  neutralSubject?: boolean | undefined;
  locale?: string | undefined;
  timeZone?: string | undefined;
  /** null or '' removes the name. */
  brandName?: string | null | undefined;
  brandColour?: string | null | undefined;
  /** The file's bytes; null removes the logo. */
  brandLogo?: Buffer | null | undefined;
}

/** What the portal and the mails show of an organisation. */
export interface Branding {
  organisationId: string;
  locale: Locale;
  timeZone: string;
  name: string | null;
  colour: string | null;
  logo: { type: LogoType; content: Buffer; version: string } | null;
}

export { MAX_RETENTION_DAYS } from './retention-limit.js';

const MAX_BRAND_NAME = 80;
const FIELDS = 'retentionDays, readReceipts, readReceiptFormat, neutralSubject, locale, timeZone, brandName, brandColour or brandLogo';

/** The organisation's settings for secure messages, changed with an audit record. */
export function secureSettings(
  stores: { settings: SecureSettingsStore },
  deps: Pick<DirectoryContext, 'clock'>,
  organisationId: string = DEFAULT_ORGANISATION_ID,
) {
  const { settings } = stores;
  const { clock } = deps;

  const get = async (): Promise<SecureSettings> => {
    const row = await settings.settings(organisationId);
    if (!row) throw notFound('organisation', organisationId);
    const logo = row.brandLogo;
    return {
      retentionDays: row.retentionDays,
      readReceipts: row.readReceipts,
      readReceiptFormat: row.readReceiptFormat === 'mdn' ? 'mdn' : 'text',
      neutralSubject: row.neutralSubject,
      locale: isLocale(row.locale) ? row.locale : 'en',
      timeZone: row.timeZone,
      brandName: row.brandName,
      brandColour: row.brandColour,
      brandLogo: logo ? { type: row.brandLogoType as LogoType, sizeBytes: logo.length, sha256: createHash('sha256').update(logo).digest('hex') } : null,
    };
  };

  return {
    get,

    async update(patch: SecureSettingsPatch, actor: Actor): Promise<SecureSettings> {
      const values: SecureSettingsValues = {
        ...(patch.retentionDays !== undefined ? { retentionDays: checkRetentionDays(patch.retentionDays) } : {}),
        ...(patch.readReceipts !== undefined ? { readReceipts: flag('readReceipts', patch.readReceipts) } : {}),
        ...(patch.readReceiptFormat !== undefined ? { readReceiptFormat: checkReceiptFormat(patch.readReceiptFormat) } : {}),
        ...(patch.neutralSubject !== undefined ? { neutralSubject: flag('neutralSubject', patch.neutralSubject) } : {}),
        ...(patch.locale !== undefined ? { locale: checkLocale(patch.locale) } : {}),
        ...(patch.timeZone !== undefined ? { timeZone: checkTimeZone(patch.timeZone) } : {}),
        ...(patch.brandName !== undefined ? { brandName: checkBrandName(patch.brandName) } : {}),
        ...(patch.brandColour !== undefined ? { brandColour: colourOrNull(patch.brandColour) } : {}),
        ...(patch.brandLogo !== undefined ? { brandLogo: checkedLogo(patch.brandLogo) } : {}),
      };
      if (Object.keys(values).length === 0) throw invalid('(request)', `say what to change: ${FIELDS}`);
      const before = await get();
      await settings.change(async (tx) => {
        await tx.update(organisationId, values);
        const { brandLogo, ...rest } = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as SecureSettingsPatch;
        // The audit keeps the logo's digest, not its bytes.
        const logo = brandLogo === undefined ? {} : { brandLogo: brandLogo && createHash('sha256').update(brandLogo).digest('hex') };
        const detail = { from: before, ...rest, ...logo };
        await tx.audit(actor, { action: 'secure.settings.update', targetType: 'organisation', targetId: organisationId, detail }, clock.now());
      });
      return get();
    },
  };
}

export type SecureSettingsService = ReturnType<typeof secureSettings>;

/** The branding of the organisation a secure message belongs to, for the portal and the mails; the defaults for an organisation not found. */
export async function brandingFrom(settings: SecureSettingsReads, organisationId: string): Promise<Branding> {
  const row = await settings.settings(organisationId);
  const content = row?.brandLogo ?? null;
  return {
    organisationId,
    locale: isLocale(row?.locale) ? row.locale : 'en',
    timeZone: row?.timeZone ?? 'UTC',
    name: row?.brandName ?? null,
    colour: row?.brandColour ?? null,
    logo: content ? { type: row?.brandLogoType as LogoType, content, version: createHash('sha256').update(content).digest('base64url').slice(0, 16) } : null,
  };
}

function checkRetentionDays(days: number): number {
  if (!Number.isInteger(days) || days < 1 || days > MAX_RETENTION_DAYS)
    throw invalid('retentionDays', `retentionDays must be a whole number of days from 1 to ${MAX_RETENTION_DAYS}, not ${days}`);
  return days;
}

function flag(field: string, value: boolean): boolean {
  if (typeof value !== 'boolean') throw invalid(field, `${field} must be true or false`);
  return value;
}

function checkLocale(value: string): Locale {
  if (!isLocale(value)) throw invalid('locale', `locale must be one of ${LOCALES.join(', ')}, not "${value}"`);
  return value;
}

function checkReceiptFormat(value: string): ReadReceiptFormat {
  const format = READ_RECEIPT_FORMATS.find((f) => f === value);
  if (!format) throw invalid('readReceiptFormat', `readReceiptFormat must be text (a mail for people) or mdn (RFC 8098, for applications), not "${value}"`);
  return format;
}

/** An IANA zone name as Intl knows it, in its canonical spelling (europe/amsterdam → Europe/Amsterdam). */
function checkTimeZone(value: string): string {
  try {
    return new Intl.DateTimeFormat('en', { timeZone: value }).resolvedOptions().timeZone;
  } catch {
    throw invalid('timeZone', `timeZone must be an IANA time zone such as Europe/Amsterdam or UTC, not "${value}"`);
  }
}

function checkBrandName(value: string | null): string | null {
  const name = value?.trim() ?? '';
  if (name.length > MAX_BRAND_NAME) throw invalid('brandName', `brandName must be at most ${MAX_BRAND_NAME} characters, not ${name.length}`);
  if (/[\u0000-\u001f\u007f]/.test(name)) throw invalid('brandName', 'brandName must not hold control characters or line breaks');
  return name || null;
}

function colourOrNull(value: string | null): string | null {
  if (value === null || value === '') return null;
  const checked = checkBrandColour(value);
  if (!checked.ok) throw invalid('brandColour', checked.problem);
  return checked.colour;
}

function checkedLogo(content: Buffer | null): { content: Buffer; type: string } | null {
  if (content === null) return null;
  const checked = checkBrandLogo(content);
  if (!checked.ok) throw invalid('brandLogo', checked.problem);
  return { content, type: checked.type };
}
