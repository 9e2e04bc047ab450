import { de } from './de.js';
import { type Catalogue, en, type MessageKey } from './en.js';
import { fr } from './fr.js';
import { nl } from './nl.js';

export type { Catalogue, MessageKey } from './en.js';
export { contentLanguage, lookupLanguage, negotiateLocale, parseAcceptLanguage } from './negotiate.js';

/** The languages the portal and the recipient mails speak (issue 22), in the order the switch shows them. */
export const LOCALES = ['en', 'nl', 'de', 'fr'] as const;
export type Locale = (typeof LOCALES)[number];

export const CATALOGUES: Readonly<Record<Locale, Catalogue>> = { en, nl, de, fr };

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (LOCALES as readonly string[]).includes(value);
}

export type Params = Readonly<Record<string, string | number>>;

/** The text of `key` in `locale` with its `{name}` placeholders filled; plain text, for the caller to escape. */
export function t(locale: Locale, key: MessageKey, params: Params = {}): string {
  return CATALOGUES[locale][key].replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

/** BCP 47 tags for Intl: British English writes "7 December 2026", not "December 7". */
const INTL_TAG: Record<Locale, string> = { en: 'en-GB', nl: 'nl-NL', de: 'de-DE', fr: 'fr-FR' };

/**
 * A moment as the reader's language writes it, with its time zone named. The portal serves
 * pages without script, so the reader's own zone is not known: the organisation's (its
 * `timeZone` setting), UTC by default.
 */
export function formatDate(locale: Locale, ms: number, timeZone = 'UTC'): string {
  return dateFormat(locale, timeZone).format(new Date(ms));
}

/** Building a DateTimeFormat costs ~0.1 ms (ICU data), formatting with one a few µs: one per language and zone. */
const dateFormats = new Map<string, Intl.DateTimeFormat>();

function dateFormat(locale: Locale, timeZone: string): Intl.DateTimeFormat {
  const key = `${locale} ${timeZone}`;
  let format = dateFormats.get(key);
  if (format) return format;
  format = new Intl.DateTimeFormat(INTL_TAG[locale], {
    year: 'numeric',
    month: 'long',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZone,
    timeZoneName: 'short',
  });
  // Zones come from organisation settings: a handful, but not trusted to stay so.
  if (dateFormats.size >= 256) dateFormats.clear();
  dateFormats.set(key, format);
  return format;
}

export function formatNumber(locale: Locale, n: number, fractionDigits = 0): string {
  return new Intl.NumberFormat(INTL_TAG[locale], { maximumFractionDigits: fractionDigits, minimumFractionDigits: fractionDigits }).format(n);
}

/** The language of a mail about a message: its own Content-Language when the portal speaks it, else the organisation's default (issue 22). */
export function mailLocale(messageLanguage: string | null | undefined, organisationDefault: Locale): Locale {
  return isLocale(messageLanguage) ? messageLanguage : organisationDefault;
}
