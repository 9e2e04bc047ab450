/**
 * The `tag=value; tag=value` syntax of DKIM key records (RFC 6376 §3.2), which DMARC
 * (RFC 7489 §6.4), MTA-STS (RFC 8461 §3.1) and TLS-RPT (RFC 8460 §3) records share. Tag
 * names are compared lowercase; values are trimmed. A later duplicate does not replace the
 * first (RFC 6376 §3.2 makes duplicates an error; the first is what a lenient reader sees).
 */
export function parseTags(record: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const part of record.split(';')) {
    const equals = part.indexOf('=');
    if (equals < 0) continue;
    const name = part.slice(0, equals).trim().toLowerCase();
    if (name && !tags.has(name)) tags.set(name, part.slice(equals + 1).trim());
  }
  return tags;
}

/** The records among `values` that begin with `version` as their first tag, e.g. "v=DMARC1". */
export function recordsOfVersion(values: string[], version: string): string[] {
  const [tag, expected] = version.split('=') as [string, string];
  return values.filter((value) => {
    const first = value.split(';')[0] ?? '';
    const equals = first.indexOf('=');
    return equals > 0 && first.slice(0, equals).trim().toLowerCase() === tag && first.slice(equals + 1).trim() === expected;
  });
}
