import { domainToASCII, domainToUnicode } from 'node:url';

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Why `name` is not a domain the gateway accepts, or undefined when it is. Names are kept
 * in one canonical spelling so that each domain is one row and one TXT lookup: lowercase
 * (DNS compares case-insensitively, RFC 4343), without the root's trailing dot, and
 * internationalised names in their ASCII A-label form (RFC 5890 §2.3.2.1).
 */
export function domainNameProblem(name: string): string | undefined {
  if (name === '') return 'must not be empty';
  if (name.endsWith('.')) return `must not end with a dot: use "${name.replace(/\.+$/, '')}"`;
  if (/[^\x20-\x7e]/.test(name)) {
    const ascii = domainToASCII(name);
    return ascii ? `must be in its IDNA A-label form: use "${ascii}"` : 'is not a valid internationalised domain name';
  }
  if (name !== name.toLowerCase()) return `must be lowercase: use "${name.toLowerCase()}"`;
  // RFC 1035 §2.3.4: 255 octets on the wire, 253 characters as text.
  if (name.length > 253) return 'is longer than 253 characters (RFC 1035 §2.3.4)';
  const labels = name.split('.');
  if (labels.length < 2) return 'must have at least two labels, e.g. example.com';
  for (const label of labels) {
    const problem = labelProblem(label);
    if (problem) return problem;
  }
  // RFC 3696 §2: an all-numeric top-level label would read as an IP address.
  if (/^\d+$/.test(labels[labels.length - 1] ?? '')) return 'is an IP address or ends in an all-numeric label: use a domain name';
  // A-labels must decode as punycode (RFC 3492) to a valid U-label, or the name is not IDNA-safe.
  if (labels.some((label) => label.startsWith('xn--') && !isALabel(label))) return 'has an A-label ("xn--") that is not valid punycode';
  return undefined;
}

/**
 * An "xn--" label that decodes to a non-ASCII U-label whose A-label is this label again
 * (RFC 5890 §2.3.2.1). Checked label by label: Node 24's URL library (ada 4) passes invalid
 * A-labels such as "xn--zz" through domainToASCII unchanged, where Node 20 and 22 return "".
 */
function isALabel(label: string): boolean {
  const unicode = domainToUnicode(label);
  return unicode !== '' && unicode !== label && /[^\x00-\x7f]/.test(unicode) && domainToASCII(unicode) === label;
}

/** Letters, digits and inner hyphens, 1 to 63 characters (RFC 1123 §2.1, RFC 1035 §2.3.4). */
function labelProblem(label: string): string | undefined {
  if (label === '') return 'has an empty label (two dots in a row, or a leading dot)';
  if (label.length > 63) return `has a label longer than 63 characters: "${label.slice(0, 20)}…"`;
  if (!LABEL.test(label)) return `has a label "${label}" with characters other than a-z, 0-9 and inner hyphens`;
  // RFC 5891 §4.2.3.1: hyphens in the 3rd and 4th positions are reserved for A-labels ("xn--").
  if (label.slice(2, 4) === '--' && !label.startsWith('xn--')) return `has a label "${label}" with "--" in the 3rd and 4th positions, reserved for IDNA`;
  return undefined;
}
