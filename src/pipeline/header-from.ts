import addressparser from 'nodemailer/lib/addressparser';
import { SmtpReply } from '../model/smtp-reply.js';

export type HeaderFrom = { addresses: string[] } | { refusal: SmtpReply };

/**
 * The author addresses of a message, from its header section (as HeaderCapture keeps it).
 *
 * RFC 5322 §3.6 requires exactly one From field; §3.6.2 makes it a list of mailboxes and
 * requires a Sender field when it names more than one. A message that breaks these rules
 * is refused rather than guessed at: recipients, their mail programs and DMARC (RFC 7489
 * §6.6.1, which singles out messages with several From fields) would each pick an author
 * in their own way, and a forger needs only one of them to pick the one we did not check.
 * Every From mailbox is returned and checked, so a co-author cannot be slipped in either.
 */
export function headerFrom(section: Buffer): HeaderFrom {
  const all = headerFields(section);
  const values = all.filter((f) => f.name.toLowerCase() === 'from').map((f) => f.value);
  const [value] = values;
  if (value === undefined) return { refusal: SmtpReply.headerFromMissing() };
  if (values.length > 1) return { refusal: SmtpReply.headerFromRepeated() };
  // Groups (RFC 6854) are flattened: their members are authors like any other.
  const mailboxes = addressparser(value, { flatten: true });
  const addresses = mailboxes.map((m) => m.address);
  // One unquoted @ per mailbox: `a@b.example <c@d.example>` or `<a@b> <c@d>` parse one way
  // here and another way elsewhere, so they are refused as unreadable.
  if (addresses.length === 0 || addresses.some((a) => !a.includes('@')) || unquotedAtSigns(value) !== addresses.length)
    return { refusal: SmtpReply.headerFromUnreadable() };
  if (addresses.length > 1 && !all.some((f) => f.name.toLowerCase() === 'sender')) return { refusal: SmtpReply.headerSenderRequired() };
  return { addresses };
}

export interface HeaderField {
  name: string;
  value: string;
}

/**
 * Header fields with folded lines joined (RFC 5322 §2.2.3). A name may be followed by
 * spaces before its colon (obsolete syntax, §4.5), which some readers still accept, so it
 * is recognised here too. Lines that are not fields (an mbox "From " line) are skipped.
 */
export function headerFields(section: Buffer): HeaderField[] {
  const out: HeaderField[] = [];
  for (const line of section.toString('utf8').split('\r\n')) {
    const last = out[out.length - 1];
    if ((line.startsWith(' ') || line.startsWith('\t')) && last) {
      last.value += line;
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).replace(/[ \t]+$/, '') : '';
    if (/^[\x21-\x39\x3b-\x7e]+$/.test(name)) out.push({ name, value: line.slice(colon + 1) });
  }
  return out;
}

/** Counts `@` outside quoted strings and comments (RFC 5322 §3.2.4, §3.2.2), honouring quoted-pairs. */
function unquotedAtSigns(value: string): number {
  let count = 0;
  let quoted = false;
  let commentDepth = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '\\' && (quoted || commentDepth > 0)) i++;
    else if (quoted) quoted = c !== '"';
    else if (c === '(') commentDepth++;
    else if (c === ')' && commentDepth > 0) commentDepth--;
    else if (commentDepth === 0 && c === '"') quoted = true;
    else if (commentDepth === 0 && c === '@') count++;
  }
  return count;
}
