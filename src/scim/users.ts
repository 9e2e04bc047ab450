import { createHash } from 'node:crypto';
import type { SyncedUser } from '../directory/address-sync.js';
import type { Address } from '../directory/addresses.js';
import { ScimError } from './errors.js';

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

type Body = Record<string, unknown>;

/** The SCIM view of a synced address: userName is the mailbox, the other emails its aliases. */
export function toScimUser(address: Address, base: string) {
  const user = {
    schemas: [USER_SCHEMA],
    id: address.id,
    ...(address.externalId !== null ? { externalId: address.externalId } : {}),
    userName: address.address,
    displayName: address.description,
    active: address.suspendedAt === null,
    emails: [{ value: address.address, type: 'work', primary: true }, ...address.aliases.map((value) => ({ value, type: 'other', primary: false }))],
    meta: { resourceType: 'User', created: new Date(address.createdAt).toISOString(), location: `${base}/Users/${address.id}`, version: '' },
  };
  // RFC 7644 §3.14: a weak ETag of what the client sees, so an If-Match from a stale read is refused.
  user.meta.version = `W/"${createHash('sha256')
    .update(JSON.stringify({ ...user, meta: undefined }))
    .digest('base64url')
    .slice(0, 22)}"`;
  return user;
}

export function fromAddress(address: Address): SyncedUser {
  return {
    address: address.address,
    externalId: address.externalId,
    description: address.description,
    active: address.suspendedAt === null,
    aliases: address.aliases,
  };
}

/** A POST or PUT body: userName is required; emails other than it (and `smtp:` proxyAddresses) become aliases. */
export function fromScimBody(body: unknown): SyncedUser {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ScimError(400, 'the body must be a SCIM User object', 'invalidSyntax');
  const user = body as Body;
  const address = mailbox(user.userName, 'userName');
  const aliases = emailValues(user.emails, 'emails').filter((e) => e !== address);
  return {
    address,
    externalId: optionalString(user.externalId, 'externalId'),
    description: displayName(user),
    active: user.active === undefined ? true : toBoolean(user.active, 'active'),
    aliases,
  };
}

interface PatchOperation {
  op: string;
  path?: string;
  value?: unknown;
}

/**
 * RFC 7644 §3.5.2 as Entra ID and Okta send it: ops in any case ("Replace"), `active` as a
 * boolean or the string "False", a value object without a path, and emails addressed by a
 * value filter. Paths this mapping does not keep (name.givenName, title, …) are accepted and ignored,
 * as the RFC lets a service provider do with attributes it does not support.
 */
export function applyPatch(current: SyncedUser, body: unknown): SyncedUser {
  const patch = body as { schemas?: unknown; Operations?: unknown };
  if (!Array.isArray(patch?.schemas) || !patch.schemas.includes(PATCH_SCHEMA))
    throw new ScimError(400, `a PATCH body must carry schemas ["${PATCH_SCHEMA}"]`, 'invalidSyntax');
  if (!Array.isArray(patch.Operations)) throw new ScimError(400, 'a PATCH body must carry an Operations array', 'invalidSyntax');
  let user = { ...current, aliases: [...current.aliases] };
  for (const [i, raw] of (patch.Operations as PatchOperation[]).entries()) {
    const op = String(raw?.op ?? '').toLowerCase();
    if (!['add', 'replace', 'remove'].includes(op))
      throw new ScimError(400, `Operations.${i}.op must be add, replace or remove, not "${raw?.op}"`, 'invalidSyntax');
    if (raw.path === undefined) {
      if (op === 'remove') throw new ScimError(400, `Operations.${i}: remove needs a path`, 'noTarget');
      if (typeof raw.value !== 'object' || raw.value === null)
        throw new ScimError(400, `Operations.${i}: without a path the value must be an object`, 'invalidValue');
      for (const [path, value] of Object.entries(raw.value as Body)) user = applyOne(user, op, path, value);
    } else user = applyOne(user, op, raw.path, raw.value);
  }
  return user;
}

function applyOne(user: SyncedUser, op: string, path: string, value: unknown): SyncedUser {
  const lower = path.toLowerCase().replace(`${USER_SCHEMA.toLowerCase()}:`, '');
  if (lower === 'active') return { ...user, active: op === 'remove' ? false : toBoolean(value, 'active') };
  if (lower === 'username') return { ...user, address: mailbox(value, 'userName') };
  if (lower === 'displayname') return { ...user, description: op === 'remove' ? '' : String(value ?? '') };
  if (lower === 'externalid') return { ...user, externalId: op === 'remove' ? null : optionalString(value, 'externalId') };
  if (lower === 'emails' || lower.startsWith('emails[') || lower.startsWith('emails.')) return { ...user, aliases: patchEmails(user, op, lower, path, value) };
  return user;
}

function patchEmails(user: SyncedUser, op: string, lower: string, path: string, value: unknown): string[] {
  const byValue = /^emails\[value eq "([^"]*)"\]/.exec(lower);
  if (op === 'remove') {
    if (byValue?.[1] !== undefined) return user.aliases.filter((a) => a !== byValue[1]);
    if (value === undefined) return [];
    const gone = emailValues(value, path);
    return user.aliases.filter((a) => !gone.includes(a));
  }
  const given = (typeof value === 'string' ? [mailbox(value, path)] : emailValues(value, path)).filter((e) => e !== user.address);
  // `emails` replaced wholesale; a typed one (emails[type eq "work"].value) or an add only adds.
  if (op === 'replace' && lower === 'emails') return given;
  return [...new Set([...user.aliases, ...given])];
}

export function emailValues(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((entry, i) => mailbox(typeof entry === 'object' && entry !== null ? (entry as Body).value : entry, `${field}[${i}].value`));
}

function mailbox(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new ScimError(400, `${field} must be a mail address such as support@example.com`, 'invalidValue');
  // proxyAddresses spell aliases "smtp:alias@example.com" (the primary one "SMTP:").
  return value
    .trim()
    .replace(/^smtp:/i, '')
    .toLowerCase();
}

export function optionalString(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new ScimError(400, `${field} must be a string`, 'invalidValue');
  return value;
}

function toBoolean(value: unknown, field: string): boolean {
  if (typeof value === 'boolean') return value;
  // Entra ID's provisioning service has sent "True" and "False" as strings.
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  throw new ScimError(400, `${field} must be true or false, not ${JSON.stringify(value)}`, 'invalidValue');
}

function displayName(user: Body): string {
  if (typeof user.displayName === 'string') return user.displayName;
  const name = user.name as Body | undefined;
  if (typeof name?.formatted === 'string') return name.formatted;
  return [name?.givenName, name?.familyName].filter((p) => typeof p === 'string').join(' ');
}
