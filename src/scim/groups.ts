import { createHash } from 'node:crypto';
import type { GroupInput, ScimGroup } from '../directory/scim-groups.js';
import { ScimError } from './errors.js';
import { emailValues, optionalString, PATCH_SCHEMA } from './users.js';

export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';

type Body = Record<string, unknown>;

/** The SCIM view of a group: `emails` (not in the core schema, as Okta and Entra can map a group's mail) is its mailbox and aliases. */
export function toScimGroup(group: ScimGroup, base: string, options: { members: boolean } = { members: true }) {
  const emails = group.address
    ? [{ value: group.address.address, primary: true }, ...group.address.aliases.map((value) => ({ value, primary: false }))]
    : undefined;
  const resource = {
    schemas: [GROUP_SCHEMA],
    id: group.id,
    ...(group.externalId !== null ? { externalId: group.externalId } : {}),
    displayName: group.displayName,
    ...(emails ? { emails } : {}),
    members: group.members.map((m) => ({ value: m.id, display: m.address, $ref: `${base}/Users/${m.id}` })),
    meta: {
      resourceType: 'Group',
      created: new Date(group.createdAt).toISOString(),
      lastModified: new Date(group.updatedAt).toISOString(),
      location: `${base}/Groups/${group.id}`,
      version: '',
    },
  };
  // RFC 7644 §3.14: a weak ETag of the whole group, members included, whichever attributes are returned.
  resource.meta.version = `W/"${createHash('sha256')
    .update(JSON.stringify({ ...resource, meta: undefined }))
    .digest('base64url')
    .slice(0, 22)}"`;
  if (options.members) return resource;
  const { members: _left, ...rest } = resource;
  return rest;
}

export function inputOf(group: ScimGroup): GroupInput {
  return {
    displayName: group.displayName,
    externalId: group.externalId,
    emails: group.address ? [group.address.address, ...group.address.aliases] : [],
    members: group.members.map((m) => m.id),
  };
}

/** A POST or PUT body: displayName is required (RFC 7643 §4.2); members name users by id. */
export function fromScimGroupBody(body: unknown): GroupInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ScimError(400, 'the body must be a SCIM Group object', 'invalidSyntax');
  const group = body as Body;
  return {
    displayName: requiredName(group.displayName),
    externalId: optionalString(group.externalId, 'externalId'),
    emails: [...new Set(emailValues(group.emails, 'emails'))],
    members: memberIds(group.members, 'members'),
  };
}

/**
 * RFC 7644 §3.5.2 for groups as Entra ID and Okta send it: members added and removed in batches
 * (`add members`, `remove members[value eq "id"]`, `remove members` with the ones to drop, or
 * every one without a value), `replace` of displayName, externalId, emails or the whole member
 * list, and a value object without a path. Ops in any case.
 */
export function applyGroupPatch(current: GroupInput, body: unknown): GroupInput {
  const patch = body as { schemas?: unknown; Operations?: unknown };
  if (!Array.isArray(patch?.schemas) || !patch.schemas.includes(PATCH_SCHEMA))
    throw new ScimError(400, `a PATCH body must carry schemas ["${PATCH_SCHEMA}"]`, 'invalidSyntax');
  if (!Array.isArray(patch.Operations)) throw new ScimError(400, 'a PATCH body must carry an Operations array', 'invalidSyntax');
  let group = { ...current, members: [...current.members], emails: [...current.emails] };
  for (const [i, raw] of (patch.Operations as { op?: unknown; path?: unknown; value?: unknown }[]).entries()) {
    const op = String(raw?.op ?? '').toLowerCase();
    if (!['add', 'replace', 'remove'].includes(op))
      throw new ScimError(400, `Operations.${i}.op must be add, replace or remove, not "${String(raw?.op)}"`, 'invalidSyntax');
    if (raw.path === undefined) {
      if (op === 'remove') throw new ScimError(400, `Operations.${i}: remove needs a path`, 'noTarget');
      if (typeof raw.value !== 'object' || raw.value === null)
        throw new ScimError(400, `Operations.${i}: without a path the value must be an object`, 'invalidValue');
      for (const [path, value] of Object.entries(raw.value as Body)) group = applyOne(group, op, path, value, i);
    } else group = applyOne(group, op, String(raw.path), raw.value, i);
  }
  return group;
}

function applyOne(group: GroupInput, op: string, path: string, value: unknown, i: number): GroupInput {
  const lower = path.toLowerCase().replace(`${GROUP_SCHEMA.toLowerCase()}:`, '');
  if (lower === 'displayname') {
    if (op === 'remove') throw new ScimError(400, `Operations.${i}: displayName is required and cannot be removed`, 'mutability');
    return { ...group, displayName: requiredName(value) };
  }
  if (lower === 'externalid') return { ...group, externalId: op === 'remove' ? null : optionalString(value, 'externalId') };
  if (lower === 'emails') {
    if (op === 'remove') return { ...group, emails: value === undefined ? [] : group.emails.filter((e) => !emailValues(value, path).includes(e)) };
    const given = emailValues(value, path);
    return { ...group, emails: op === 'replace' ? [...new Set(given)] : [...new Set([...group.emails, ...given])] };
  }
  const one = /^members\[value eq "([^"]*)"\]$/.exec(lower);
  if (one?.[1] !== undefined) {
    if (op !== 'remove') throw new ScimError(400, `Operations.${i}: ${path} can only be removed`, 'invalidPath');
    const gone = one[1];
    return { ...group, members: group.members.filter((m) => m.toLowerCase() !== gone) };
  }
  if (lower === 'members') {
    if (op === 'remove') {
      if (value === undefined) return { ...group, members: [] };
      const gone = memberIds(value, path);
      return { ...group, members: group.members.filter((m) => !gone.includes(m)) };
    }
    const given = memberIds(value, path);
    return { ...group, members: op === 'replace' ? given : [...new Set([...group.members, ...given])] };
  }
  throw new ScimError(400, `Operations.${i}: ${path} is not an attribute of a group here (displayName, externalId, emails, members)`, 'invalidPath');
}

function requiredName(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new ScimError(400, 'displayName is required: the name of the group', 'invalidValue');
  return value.trim();
}

function memberIds(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((entry, i) => {
    const id = typeof entry === 'object' && entry !== null ? (entry as Body).value : undefined;
    if (typeof id !== 'string' || id === '') throw new ScimError(400, `${field}[${i}].value must be the id of a user`, 'invalidValue');
    return id;
  });
}
