/**
 * Throwaway PKI for TLS tests: a private CA and leaf certificates it signs.
 * Nothing is cached at module level, so parallel test files never share keys.
 */
import { randomUUID } from 'node:crypto';
import { generate } from 'selfsigned';

export interface TestCa {
  caCert: string;
  caKey: string;
}

export interface LeafCert {
  cert: string;
  key: string;
  /** Leaf PEM followed by CA PEM, for servers that should present the full chain. */
  chain: string;
}

export interface Validity {
  notBefore?: Date;
  notAfter?: Date;
}

const DAY_MS = 24 * 60 * 60 * 1000;
// Backdated so a certificate minted this second is already valid even if the
// verifier's clock reads slightly behind ours.
const BACKDATE_MS = 60 * 60 * 1000;

export async function makeTestCa(): Promise<TestCa> {
  const now = Date.now();
  // A unique subject per CA: with a shared name, OpenSSL picks whichever CA it
  // finds first and reports a signature failure instead of an unknown issuer.
  const commonName = `Relaygate Test CA ${randomUUID().slice(0, 8)}`;
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    curve: 'P-256',
    // selfsigned defaults to SHA-1, which OpenSSL 3 rejects in chains.
    algorithm: 'sha256',
    notBeforeDate: new Date(now - BACKDATE_MS),
    notAfterDate: new Date(now + 7 * DAY_MS),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { caCert: withTrailingNewline(pems.cert), caKey: withTrailingNewline(pems.private) };
}

/**
 * `validity` lets a test mint an expired or not-yet-valid certificate; the
 * default is valid from an hour ago for a week.
 */
export async function makeLeafCert(ca: TestCa, hostnames: string[], validity: Validity = {}): Promise<LeafCert> {
  const now = Date.now();
  const pems = await generate([{ name: 'commonName', value: hostnames[0] ?? 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: validity.notBefore ?? new Date(now - BACKDATE_MS),
    notAfterDate: validity.notAfter ?? new Date(now + 7 * DAY_MS),
    ca: { key: ca.caKey, cert: ca.caCert },
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          ...hostnames.map((value) => ({ type: 2 as const, value })),
          // Tests dial 127.0.0.1 directly; the IP SAN lets them verify without a servername.
          { type: 7 as const, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  const cert = withTrailingNewline(pems.cert);
  return { cert, key: withTrailingNewline(pems.private), chain: cert + withTrailingNewline(ca.caCert) };
}

// selfsigned omits the final newline on certificates; concatenated PEMs need it.
function withTrailingNewline(pem: string): string {
  return pem.endsWith('\n') ? pem : `${pem}\n`;
}
