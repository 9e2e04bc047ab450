import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com, "Signature scheme"): the
 * HMAC-SHA256 of `${id}.${timestamp}.${body}` under the key a `whsec_` secret encodes, sent as
 * `webhook-signature: v1,<base64>`. Receivers can use any Standard Webhooks library.
 */

const SECRET_PREFIX = 'whsec_';
/** The spec asks for keys of 24 to 64 bytes; we generate 32, the HMAC-SHA256 block-size sweet spot. */
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;
const GENERATED_KEY_BYTES = 32;
const HMAC_BYTES = 32;
/** The tolerance the reference libraries use: five minutes either way. */
const DEFAULT_TOLERANCE_SEC = 300;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export type WebhookHeaders = Record<string, string | string[] | undefined>;
export type WebhookVerification = { ok: true } | { ok: false; problem: string };

export function generateWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(GENERATED_KEY_BYTES).toString('base64');
}

/** A `whsec_` secret whose base64 part is canonical and decodes to a key of 24 to 64 bytes. */
export function isWebhookSecret(secret: string): boolean {
  return secretKey(secret) !== undefined;
}

/**
 * The three headers for one delivery, with one `v1` signature per secret: during a rotation
 * both the old and the new secret sign, so receivers holding either one accept the message.
 * Throws on a malformed secret or timestamp: those are configuration bugs, checked at start.
 */
export function signatureHeaders(secrets: string[], id: string, timestampSec: number, body: string): Record<string, string> {
  if (!Number.isSafeInteger(timestampSec) || timestampSec < 0) throw new RangeError(`webhook timestamp ${timestampSec} is not whole seconds`);
  if (secrets.length === 0) throw new RangeError('a webhook needs at least one secret to sign with');
  const signatures = secrets.map((secret) => {
    const key = secretKey(secret);
    if (!key) throw new RangeError('a webhook secret is not whsec_ followed by base64 of 24 to 64 bytes');
    return `v1,${sign(key, id, timestampSec, body).toString('base64')}`;
  });
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampSec), 'webhook-signature': signatures.join(' ') };
}

/**
 * Checks a delivery as a receiver would. The timestamp window is the replay defence: a captured
 * request stops verifying once it is older (or further ahead) than `toleranceSec`.
 */
export function verifyWebhook(secret: string, headers: WebhookHeaders, body: string, options: { nowSec: number; toleranceSec?: number }): WebhookVerification {
  const key = secretKey(secret);
  if (!key) return { ok: false, problem: 'the secret is not whsec_ followed by base64 of 24 to 64 bytes' };
  const id = single(headers, 'webhook-id');
  const timestampText = single(headers, 'webhook-timestamp');
  const signatureList = all(headers, 'webhook-signature');
  if (!id) return { ok: false, problem: 'webhook-id is missing or repeated' };
  if (!timestampText || !/^\d{1,12}$/.test(timestampText)) return { ok: false, problem: 'webhook-timestamp is missing, repeated, or not whole seconds' };
  if (!signatureList) return { ok: false, problem: 'webhook-signature is missing' };
  const timestampSec = Number(timestampText);
  const toleranceSec = options.toleranceSec ?? DEFAULT_TOLERANCE_SEC;
  if (timestampSec < options.nowSec - toleranceSec)
    return { ok: false, problem: `webhook-timestamp is ${options.nowSec - timestampSec} s old, beyond ${toleranceSec} s` };
  if (timestampSec > options.nowSec + toleranceSec)
    return { ok: false, problem: `webhook-timestamp is ${timestampSec - options.nowSec} s ahead, beyond ${toleranceSec} s` };
  const expected = sign(key, id, timestampSec, body);
  // Every candidate is compared, so the time taken says nothing about which one matched.
  const matches = signatureList
    .split(' ')
    .map((entry) => v1Signature(entry))
    .filter((candidate): candidate is Buffer => candidate !== undefined)
    .map((candidate) => timingSafeEqual(candidate, expected));
  return matches.includes(true) ? { ok: true } : { ok: false, problem: 'no v1 signature in webhook-signature matches' };
}

function sign(key: Buffer, id: string, timestampSec: number, body: string): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestampSec}.${body}`, 'utf8').digest();
}

function secretKey(secret: string): Buffer | undefined {
  if (!secret.startsWith(SECRET_PREFIX)) return undefined;
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!BASE64.test(encoded)) return undefined;
  const key = Buffer.from(encoded, 'base64');
  return key.length >= MIN_KEY_BYTES && key.length <= MAX_KEY_BYTES ? key : undefined;
}

/** `v1,<base64>` of the right length; other versions (`v1a` is Ed25519) are not ours to check. */
function v1Signature(entry: string): Buffer | undefined {
  if (!entry.startsWith('v1,')) return undefined;
  const encoded = entry.slice(3);
  if (!BASE64.test(encoded)) return undefined;
  const decoded = Buffer.from(encoded, 'base64');
  return decoded.length === HMAC_BYTES ? decoded : undefined;
}

/** Header names are case-insensitive (RFC 9110 §5.1); Node lowercases them, other callers may not. */
function values(headers: WebhookHeaders, name: string): string[] {
  return Object.entries(headers)
    .filter(([key]) => key.toLowerCase() === name)
    .flatMap(([, value]) => (value === undefined ? [] : Array.isArray(value) ? value : [value]));
}

function single(headers: WebhookHeaders, name: string): string | undefined {
  const found = values(headers, name);
  return found.length === 1 ? found[0]?.trim() : undefined;
}

/** Repeated signature headers are one list (RFC 9110 §5.3), joined with the spec's space. */
function all(headers: WebhookHeaders, name: string): string | undefined {
  const joined = values(headers, name)
    .map((value) => value.trim())
    .filter((value) => value !== '')
    .join(' ');
  return joined === '' ? undefined : joined;
}
