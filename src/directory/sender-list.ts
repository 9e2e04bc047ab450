/**
 * A credential's allowed senders: whole addresses (`app@example.com`) or whole domains
 * (`@example.com`). Domains compare case-insensitively (RFC 5321 §2.4); local parts are
 * compared case-insensitively too, as every mailbox provider does, so an allow-list never
 * turns on the spelling an application happens to use.
 */

export interface MailAddress {
  localPart: string;
  /** Lowercased, without a trailing root dot. */
  domain: string;
}

/** Splits at the last `@` (a quoted local part may contain one); undefined when either side is empty. */
export function splitAddress(address: string): MailAddress | undefined {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return undefined;
  const domain = address
    .slice(at + 1)
    .toLowerCase()
    .replace(/\.$/, '');
  if (!/^[^\s@.]+(\.[^\s@.]+)*$/u.test(domain)) return undefined;
  return { localPart: address.slice(0, at), domain };
}

/** The normalised entry, or the reason it is not one. */
export function parseSenderEntry(input: string): { entry: string } | { problem: string } {
  const text = input.trim().toLowerCase();
  const example = 'an address (app@example.com) or a whole domain (@example.com)';
  if (/\s/.test(text) || text === '') return { problem: `"${input}" is not ${example}` };
  if (text.startsWith('@')) {
    const parsed = splitAddress(`x${text}`);
    return parsed ? { entry: `@${parsed.domain}` } : { problem: `"${input}" is not ${example}` };
  }
  const parsed = splitAddress(text);
  return parsed ? { entry: `${parsed.localPart}@${parsed.domain}` } : { problem: `"${input}" is not ${example}` };
}

/** Whether an allow-list admits an address; entries are normalised by parseSenderEntry. */
export function senderListAllows(entries: readonly string[], address: MailAddress): boolean {
  const whole = `${address.localPart.toLowerCase()}@${address.domain}`;
  return entries.some((entry) => entry === whole || entry === `@${address.domain}`);
}
