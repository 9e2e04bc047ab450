/** A language range of Accept-Language (RFC 9110 §12.5.4) with its weight. */
export interface WeightedRange {
  range: string;
  q: number;
}

const RANGE = /^(?:\*|[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*)$/;

/**
 * The ranges of an Accept-Language value, heaviest first (equal weights keep their order);
 * malformed members and q=0 ("not this one") are dropped.
 */
export function parseAcceptLanguage(header: string | undefined): WeightedRange[] {
  if (!header) return [];
  const ranges: WeightedRange[] = [];
  for (const member of header.slice(0, 1024).split(',')) {
    const [rangePart = '', ...params] = member.trim().split(';');
    const range = rangePart.trim();
    if (!RANGE.test(range)) continue;
    let q = 1;
    for (const param of params) {
      const m = /^\s*q\s*=\s*(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)\s*$/i.exec(param);
      if (m) q = Number(m[1]);
      else if (/^\s*q\s*=/i.test(param)) q = Number.NaN;
    }
    if (Number.isNaN(q) || q <= 0) continue;
    ranges.push({ range: range.toLowerCase(), q });
  }
  return ranges
    .map((r, i) => ({ ...r, i }))
    .sort((a, b) => b.q - a.q || a.i - b.i)
    .map(({ range, q }) => ({ range, q }));
}

/**
 * RFC 4647 §3.4 lookup: for each range in order of preference, the range and then ever
 * shorter prefixes of it (`de-ch-1996` → `de-ch` → `de`) are tried against the tags offered;
 * a single-letter subtag left at the end is dropped with the one after it (§3.4, step 2).
 * The wildcard matches nothing here: the caller's default stands for it.
 */
export function lookupLanguage<T extends string>(ranges: readonly string[], offered: readonly T[]): T | undefined {
  for (const range of ranges) {
    if (range === '*') continue;
    const subtags = range.toLowerCase().split('-');
    while (subtags.length > 0) {
      const candidate = subtags.join('-');
      const found = offered.find((tag) => tag.toLowerCase() === candidate);
      if (found) return found;
      subtags.pop();
      if (subtags.length > 0 && subtags[subtags.length - 1]?.length === 1) subtags.pop();
    }
  }
  return undefined;
}

/** The offered language an Accept-Language header prefers, or undefined when it names none of them. */
export function negotiateLocale<T extends string>(acceptLanguage: string | undefined, offered: readonly T[]): T | undefined {
  return lookupLanguage(
    parseAcceptLanguage(acceptLanguage).map((r) => r.range),
    offered,
  );
}

/** The first language of a Content-Language value (RFC 3282 §2: a list of tags) that is offered. */
export function contentLanguage<T extends string>(header: string | undefined, offered: readonly T[]): T | undefined {
  if (!header) return undefined;
  const tags = header
    .split(',')
    .map((s) => s.replace(/\(.*?\)/g, '').trim())
    .filter((s) => RANGE.test(s) && s !== '*');
  return lookupLanguage(tags, offered);
}
