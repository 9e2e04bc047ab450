import type { Envelope, TlsRequired } from '../model/envelope.js';

/**
 * What the sender asked of transport security (RFC 8689): REQUIRETLS on MAIL FROM (§4.1), or
 * else a `TLS-Required: No` header field (§5), which is ignored when REQUIRETLS was given.
 * `headers` is the header section as received (CRLF line ends, folded lines allowed).
 */
export function tlsRequiredOf(envelope: Envelope, headers: Buffer): TlsRequired | undefined {
  if (envelope.requireTls) return 'requiretls';
  const unfolded = headers.toString('latin1').replace(/\r\n(?=[ \t])/g, '');
  return /^TLS-Required[ \t]*:[ \t]*No[ \t]*$/im.test(unfolded) ? 'no' : undefined;
}
