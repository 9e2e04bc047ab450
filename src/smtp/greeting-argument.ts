import { isIPv4, isIPv6 } from 'node:net';

/**
 * RFC 5321 §4.1.2 sub-domain: Let-dig [Ldh-str]; RFC 1035 §2.3.4 caps a label at 63 octets.
 * Underscores are taken too, as Postfix takes them: Windows hosts named from NetBIOS names
 * send them, and the name is only the client's claim, shown as such in Received.
 */
const SUB_DOMAIN = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/** RFC 5321 §4.5.3.1.2: a domain is at most 255 octets. */
const MAX_DOMAIN_OCTETS = 255;

/**
 * Why a HELO/EHLO argument is not a Domain or an address-literal (RFC 5321 §4.1.1.1,
 * §4.1.3), or undefined when it is one. The argument is the client's claim about itself and
 * ends up in the Received field, so only these two shapes are taken: IPv4 and IPv6 literals
 * (no General-address-literal tag is registered besides IPv6), and A-labels for
 * international names. HELO is held to EHLO's grammar: clients send literals with both.
 */
export function greetingArgumentProblem(argument: string): string | undefined {
  if (Buffer.byteLength(argument) > MAX_DOMAIN_OCTETS) return 'is longer than 255 octets';
  if (argument.startsWith('[')) return addressLiteralProblem(argument);
  if (/[^\x21-\x7e]/.test(argument)) return 'is not ASCII (use the A-label form of an international name)';
  if (argument.split('.').some((label) => !SUB_DOMAIN.test(label)))
    return 'is not a domain name (labels of letters, digits, underscores and inner hyphens, up to 63 each, separated by single dots)';
  return undefined;
}

function addressLiteralProblem(literal: string): string | undefined {
  const inner = /^\[(.*)\]$/.exec(literal)?.[1];
  if (inner === undefined) return 'is not a complete address literal';
  if (isIPv4(inner)) return undefined;
  const ipv6 = /^IPv6:(.*)$/i.exec(inner)?.[1];
  if (ipv6 !== undefined && isIPv6(ipv6) && !ipv6.includes('%')) return undefined;
  return 'is not an IPv4 literal like [192.0.2.1] or an IPv6 literal like [IPv6:2001:db8::1]';
}
