import { createHash, X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate } from 'node:tls';

/** One TLSA record (RFC 6698 §2.1): certificate usage, selector, matching type, association data. */
export interface Tlsa {
  usage: number;
  selector: number;
  matchingType: number;
  data: Buffer;
}

export type DaneVerdict = { ok: true; authentication: 'DANE-EE' | 'DANE-TA'; match: string } | { ok: false; problem: string };

/**
 * RFC 7672 §3.1.3: for SMTP only DANE-TA(2) and DANE-EE(3) are usable; PKIX-TA(0) and
 * PKIX-EE(1) records are not. Selectors 0 (certificate) and 1 (SPKI), matching types 0 (full),
 * 1 (SHA-256) and 2 (SHA-512); a digest of the wrong length can never match and is unusable too.
 */
export function isUsableTlsa(r: Tlsa): boolean {
  const lengthFits = r.matchingType === 0 ? r.data.length > 0 : r.data.length === (r.matchingType === 1 ? 32 : 64);
  return (r.usage === 2 || r.usage === 3) && (r.selector === 0 || r.selector === 1) && r.matchingType >= 0 && r.matchingType <= 2 && lengthFits;
}

/** The DER a TLSA selector names: the whole certificate (0) or its SubjectPublicKeyInfo (1). */
export function tlsaSelect(c: X509Certificate, selector: number): Buffer {
  return selector === 0 ? c.raw : (c.publicKey.export({ type: 'spki', format: 'der' }) as Buffer);
}

export function tlsaMatch(c: X509Certificate, r: Tlsa): boolean {
  const selected = tlsaSelect(c, r.selector);
  const value =
    r.matchingType === 0
      ? selected
      : createHash(r.matchingType === 1 ? 'sha256' : 'sha512')
          .update(selected)
          .digest();
  return value.length === r.data.length && value.equals(r.data);
}

/**
 * The presented chain, leaf first, from the one getPeerCertificate(true) call a socket may
 * get: on Node 20, calling getPeerX509Certificate() on a client socket empties every later
 * getPeerCertificate() (shared/reference/libraries.md §5), so the caller makes that one call.
 */
export function peerChain(peer: DetailedPeerCertificate): X509Certificate[] {
  const out: X509Certificate[] = [];
  const seen = new Set<string>();
  let c: DetailedPeerCertificate | undefined = peer;
  while (c?.raw && !seen.has(c.fingerprint256)) {
    seen.add(c.fingerprint256);
    out.push(new X509Certificate(c.raw));
    c = c.issuerCertificate;
  }
  return out;
}

/**
 * DANE authentication of an SMTP server (RFC 7672 §3.1). DANE-EE(3) matches the leaf alone:
 * no name, expiry or chain checks (§3.1.1). DANE-TA(2) makes a certificate of the presented
 * chain (or the full certificate of a `2 0 0` record) the trust anchor: the chain from the
 * leaf up to it must verify, be in date, and the leaf must name the MX host (§3.1.2, §3.2.2).
 */
export function daneVerify(chain: X509Certificate[], records: Tlsa[], mxHost: string, now = new Date()): DaneVerdict {
  const leaf = chain[0];
  if (!leaf) return { ok: false, problem: `${mxHost} presented no certificate` };
  const usable = records.filter(isUsableTlsa);
  for (const r of usable.filter((r) => r.usage === 3)) {
    if (tlsaMatch(leaf, r)) return { ok: true, authentication: 'DANE-EE', match: describeTlsa(r) };
  }
  let problem = `no TLSA record matched the certificate of ${mxHost}`;
  for (const r of usable.filter((r) => r.usage === 2)) {
    const verdict = trustAnchorVerdict(chain, r, mxHost, now);
    if (verdict.ok) return verdict;
    if (verdict.problem) problem = verdict.problem;
  }
  return { ok: false, problem };
}

/** One DANE-TA record; `problem` is empty when the record matched nothing (another may). */
function trustAnchorVerdict(chain: X509Certificate[], r: Tlsa, mxHost: string, now: Date): DaneVerdict {
  const leaf = chain[0] as X509Certificate;
  const candidates = [...chain];
  if (r.selector === 0 && r.matchingType === 0) candidates.push(new X509Certificate(r.data));
  const i = candidates.findIndex((c) => tlsaMatch(c, r));
  if (i < 0) return { ok: false, problem: '' };
  const anchor = candidates[i] as X509Certificate;
  const path = [...chain.slice(0, Math.min(i, chain.length)), anchor];
  for (let k = 0; k < path.length - 1; k++) {
    const [child, parent] = [path[k] as X509Certificate, path[k + 1] as X509Certificate];
    if (!(child.checkIssued(parent) && child.verify(parent.publicKey))) {
      return { ok: false, problem: `the certificate chain of ${mxHost} does not verify up to its DANE-TA anchor` };
    }
  }
  for (const c of path.slice(0, -1)) {
    if (new Date(c.validFrom) > now || new Date(c.validTo) < now) return { ok: false, problem: `a certificate in the chain of ${mxHost} is out of date` };
  }
  if (!leaf.checkHost(mxHost)) return { ok: false, problem: `the certificate of ${mxHost} does not name it (DANE-TA requires the name, RFC 7672 §3.2.2)` };
  return { ok: true, authentication: 'DANE-TA', match: describeTlsa(r) };
}

/** SHA-256 of the leaf's SubjectPublicKeyInfo, hex: the association data of a `3 1 1` record. */
export function spkiSha256(c: X509Certificate): string {
  return createHash('sha256').update(tlsaSelect(c, 1)).digest('hex');
}

export const describeTlsa = (r: Tlsa) => `${r.usage} ${r.selector} ${r.matchingType}`;
