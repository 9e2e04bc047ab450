import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CATALOGUES, contentLanguage, formatDate, LOCALES, lookupLanguage, mailLocale, negotiateLocale, parseAcceptLanguage, t } from '../src/i18n/index.js';

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('message catalogues', () => {
  const english = Object.keys(CATALOGUES.en).sort();

  for (const locale of LOCALES) {
    test(`${locale}: every key of the English catalogue, no other, each text non-empty with the same placeholders`, () => {
      const catalogue = CATALOGUES[locale] as Record<string, string>;
      assert.deepEqual(Object.keys(catalogue).sort(), english);
      for (const key of english) {
        const text = catalogue[key] ?? '';
        assert.ok(text.trim().length > 0, `${locale} ${key} is empty`);
        assert.deepEqual(placeholders(text), placeholders(CATALOGUES.en[key as keyof typeof CATALOGUES.en]), `${locale} ${key} changes the placeholders`);
      }
    });
  }

  test('a translation is a translation: the long texts differ from the English ones', () => {
    for (const locale of LOCALES.filter((l) => l !== 'en')) {
      const same = Object.entries(CATALOGUES[locale]).filter(([key, text]) => text.length > 20 && text === CATALOGUES.en[key as keyof typeof CATALOGUES.en]);
      assert.deepEqual(same, [], `${locale} leaves texts in English`);
    }
  });

  test('t fills placeholders and leaves unknown ones visible', () => {
    assert.equal(t('de', 'problem.wrongMany', { count: 3 }), 'Dieser Code ist nicht richtig. Sie haben noch 3 Versuche.');
    assert.equal(t('fr', 'notify.intro', { sender: 'Zorg <a@b>' }), 'Zorg <a@b> vous a envoyé un message sécurisé.');
    assert.equal(t('nl', 'landing.from'), 'Van {sender}');
  });

  test('dates are written in the reader’s language, with the time zone named', () => {
    const at = Date.UTC(2026, 2, 13, 14, 5);
    assert.equal(formatDate('en', at), '13 March 2026 at 14:05 UTC');
    assert.equal(formatDate('nl', at), '13 maart 2026 om 14:05 UTC');
    assert.equal(formatDate('de', at), '13. März 2026 um 14:05 UTC');
    assert.equal(formatDate('fr', at), '13 mars 2026 à 14:05 UTC');
    assert.match(formatDate('de', at, 'Europe/Berlin'), /^13\. März 2026 um 15:05 MEZ$/);
  });
});

describe('language negotiation (RFC 9110 §12.5.4, RFC 4647 §3.4 lookup)', () => {
  const cases: [string | undefined, string | undefined, string][] = [
    ['de-CH,de;q=0.9,en;q=0.8', 'de', 'a regional tag falls back to its language'],
    ['en-US,en;q=0.9', 'en', 'Chromium’s default'],
    ['ja,fr;q=0.5,nl;q=0.7', 'nl', 'the heavier of the offered languages wins, not the first listed'],
    ['fr;q=0.5, de;q=0.5', 'fr', 'equal weights keep their order'],
    ['nl;q=0, de', 'de', 'q=0 means "not this one"'],
    ['nl;q=0', undefined, 'only a refused language: none'],
    ['ja, zh-Hant-TW', undefined, 'none of the four'],
    ['*', undefined, 'the wildcard leaves the choice to the caller'],
    ['fr-x-private, en;q=0.1', 'fr', 'a private-use subtag is dropped with its singleton'],
    ['de;q=1.5, en;q=abc, nl', 'nl', 'malformed weights drop their member'],
    ['', undefined, 'empty header'],
    [undefined, undefined, 'no header'],
  ];
  for (const [header, expected, why] of cases)
    test(`${JSON.stringify(header)} → ${expected ?? 'none'}: ${why}`, () => assert.equal(negotiateLocale(header, LOCALES), expected));

  test('ranges come out heaviest first', () => {
    assert.deepEqual(parseAcceptLanguage('en;q=0.2, de-AT , fr;q=0.8'), [
      { range: 'de-at', q: 1 },
      { range: 'fr', q: 0.8 },
      { range: 'en', q: 0.2 },
    ]);
  });

  test('lookup truncates from the end, one subtag at a time', () => {
    assert.equal(lookupLanguage(['zh-hant-cn-x-private1-private2'], ['zh-hant', 'zh']), 'zh-hant');
    assert.equal(lookupLanguage(['de-de-1996'], ['de']), 'de');
  });

  test('Content-Language (RFC 3282): the first listed language the portal speaks; the organisation default otherwise', () => {
    assert.equal(contentLanguage('de-DE', LOCALES), 'de');
    assert.equal(contentLanguage('it, fr (Français)', LOCALES), 'fr');
    assert.equal(contentLanguage('it', LOCALES), undefined);
    assert.equal(mailLocale('fr', 'nl'), 'fr');
    assert.equal(mailLocale(null, 'nl'), 'nl');
    assert.equal(mailLocale('xx', 'de'), 'de');
  });
});
