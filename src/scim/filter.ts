import { ScimError } from './errors.js';

/** One `attr eq "value"` comparison; a filter is their conjunction. */
export interface Comparison {
  attribute: string;
  value: string;
}

/**
 * The subset of RFC 7644 §3.4.2.2 filters that Entra ID and Okta send to look a user or group up
 * before creating it: `userName eq "…"`, `externalId eq "…"`, `displayName eq "…"`, joined by `and`.
 * Anything else is refused (scimType invalidFilter) rather than half-understood.
 */
export function parseFilter(text: string): Comparison[] {
  const parts: Comparison[] = [];
  const term = /^\s*([A-Za-z][\w.:-]*)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*/i;
  let rest = text;
  for (;;) {
    const match = term.exec(rest);
    if (!match?.[1] || match[2] === undefined)
      throw new ScimError(
        400,
        `filter "${text}" is not supported: use attribute eq "value" (joined by and), e.g. userName eq "support@example.com"`,
        'invalidFilter',
      );
    parts.push({ attribute: match[1], value: JSON.parse(`"${match[2]}"`) as string });
    rest = rest.slice(match[0].length);
    if (rest === '') return parts;
    const joined = /^and\s+/i.exec(rest);
    if (!joined) throw new ScimError(400, `filter "${text}" is not supported: only "and" joins comparisons here`, 'invalidFilter');
    rest = rest.slice(joined[0].length);
  }
}
