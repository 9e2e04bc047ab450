import { generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';

export const DKIM_ALGORITHMS = ['rsa-sha256', 'ed25519-sha256'] as const;
export type DkimAlgorithm = (typeof DKIM_ALGORITHMS)[number];

export interface GeneratedKey {
  algorithm: DkimAlgorithm;
  /** PKCS#8 PEM: what gets sealed. */
  privateKeyPem: string;
  /** The TXT value to publish, whole (see txtStrings for the zone-file form). */
  record: string;
}

const generate = promisify(generateKeyPair);

/** 2048 bits: RFC 8301 §3.2 requires at least 1024 and recommends 2048; larger keys no longer fit one UDP answer comfortably. */
const RSA_BITS = 2048;
/** The SubjectPublicKeyInfo of an Ed25519 key is a fixed 12-byte prefix and the 32 key bytes (RFC 8410 §4). */
const ED25519_SPKI_PREFIX_BYTES = 12;

/** A new key pair, off the event loop: RSA generation takes tens of milliseconds, more on a busy machine. */
export async function generateDkimKey(algorithm: DkimAlgorithm): Promise<GeneratedKey> {
  const { privateKey, publicKey } = algorithm === 'rsa-sha256' ? await generate('rsa', { modulusLength: RSA_BITS }) : await generate('ed25519');
  return { algorithm, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), record: keyRecord(algorithm, publicKey) };
}

/**
 * The DKIM key record (RFC 6376 §3.6.1). RSA: p= is the DER SubjectPublicKeyInfo, which is
 * what opendkim-genkey publishes and every verifier reads. Ed25519: p= is the raw 32-byte
 * public key (RFC 8463 §4.2), not its SubjectPublicKeyInfo.
 */
export function keyRecord(algorithm: DkimAlgorithm, publicKey: KeyObject): string {
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  if (algorithm === 'rsa-sha256') return `v=DKIM1; k=rsa; p=${spki.toString('base64')}`;
  return `v=DKIM1; k=ed25519; p=${spki.subarray(ED25519_SPKI_PREFIX_BYTES).toString('base64')}`;
}

/**
 * The value as the character-strings of one TXT record, each at most 255 octets (RFC 1035
 * §3.3.14): a 2048-bit RSA record is about 410 characters, more than one string holds.
 * Verifiers join them without separator (RFC 6376 §3.6.2.2).
 */
export function txtStrings(value: string, size = 255): string[] {
  const parts: string[] = [];
  for (let i = 0; i < value.length; i += size) parts.push(value.slice(i, i + size));
  return parts.length > 0 ? parts : [''];
}

/** The zone-file form: `"v=DKIM1; k=rsa; p=MIIB…" "…"`. */
export function zoneFileValue(value: string): string {
  return txtStrings(value)
    .map((part) => `"${part}"`)
    .join(' ');
}

/** The tags of a key record (RFC 6376 §3.2 tag=value list); whitespace inside p= is folding and dropped. */
export function parseKeyRecord(text: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const item of text.split(';')) {
    const eq = item.indexOf('=');
    if (eq === -1) continue;
    const name = item.slice(0, eq).trim().toLowerCase();
    const value = item.slice(eq + 1).trim();
    if (name && !tags.has(name)) tags.set(name, name === 'p' ? value.replace(/\s+/g, '') : value);
  }
  return tags;
}

/** Whether a published TXT value carries the same key as ours: same type, same p=, v=DKIM1 if it says a version. */
export function sameKey(published: string, ours: string): boolean {
  const found = parseKeyRecord(published);
  const expected = parseKeyRecord(ours);
  const version = found.get('v');
  if (version !== undefined && version !== 'DKIM1') return false;
  return (found.get('k') ?? 'rsa').toLowerCase() === expected.get('k') && found.get('p') === expected.get('p');
}
