import type { FastifyReply, FastifyRequest } from 'fastify';
import { isLocale, LOCALES, type Locale, negotiateLocale } from '../i18n/index.js';
import { DEFAULT_ORGANISATION_ID } from '../model/organisation.js';
import type { Branding } from '../secure/secure-settings.js';

/** What every portal page is drawn with: the reader's language, the organisation's branding, and where the page is (for the language switch). */
export interface Look {
  locale: Locale;
  brand: Branding;
  /** The page's path without its query: the switch links to it with `?lang=`. */
  path: string;
}

const LANG_COOKIE = 'relaygate_lang';

function cookieLocale(cookie: string | undefined): Locale | undefined {
  const value = /(?:^|;\s*)relaygate_lang=([a-z]{2})(?:;|$)/.exec(cookie ?? '')?.[1];
  return isLocale(value) ? value : undefined;
}

/**
 * The page's language: the one the reader picked with the switch (kept in a cookie), else
 * the best of the four their browser's Accept-Language asks for, else the message's own
 * language, else the organisation's default.
 */
export async function lookFor(
  branding: (organisationId: string) => Promise<Branding>,
  request: FastifyRequest,
  reply: FastifyReply,
  message?: { organisationId: string; language: string | null } | undefined,
): Promise<Look> {
  const brand = await branding(message?.organisationId ?? DEFAULT_ORGANISATION_ID);
  const picked = (request.query as { lang?: unknown } | undefined)?.lang;
  if (isLocale(picked)) reply.header('set-cookie', `${LANG_COOKIE}=${picked}; Path=/m; Max-Age=31536000; HttpOnly; SameSite=Lax`);
  const locale =
    (isLocale(picked) ? picked : undefined) ??
    cookieLocale(request.headers.cookie) ??
    negotiateLocale(request.headers['accept-language'], LOCALES) ??
    (isLocale(message?.language) ? message.language : undefined) ??
    brand.locale;
  return { locale, brand, path: request.url.split('?')[0] ?? '/m' };
}
