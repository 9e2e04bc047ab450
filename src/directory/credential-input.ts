import { invalid } from '../model/directory-error.js';
import { parseNetwork } from './cidr.js';
import type { CredentialKind } from './credential-model.js';
import { parseSenderEntry } from './sender-list.js';

/** What an operator asks for; field names are the API's, so errors name them. */
export interface NewCredential {
  kind: CredentialKind;
  description: string;
  /** Submission credentials: the organisation whose verified domains it may send from (default org_default). */
  organisationId?: string | undefined;
  /** Inbound credentials: the claimed domain (name or id) it belongs to. */
  domain?: string | undefined;
  allowedSenders?: string[] | undefined;
  allowedNetworks?: string[] | undefined;
  /** Inbound credentials: authenticate by a client certificate valid for this DNS name instead of a secret. */
  tlsClientName?: string | undefined;
  expiresAt?: number | undefined;
  /** Or: how long from now (the directory's clock) it works. */
  expiresInMs?: number | undefined;
  maxMessagesPerHour?: number | undefined;
}

export interface CheckedCredential {
  description: string;
  allowedSenders: string[] | null;
  allowedNetworks: string[] | null;
  tlsClientName: string | null;
  expiresAt: number | null;
  maxMessagesPerHour: number | null;
}

/** Checks and normalises everything that needs no lookup; throws DirectoryError naming the field. */
export function checkNewCredential(input: NewCredential, nowMs: number): CheckedCredential {
  const description = input.description.trim();
  if (!description) throw invalid('description', 'description must not be empty: say what will use this credential, e.g. "Salesforce"');
  if (description.length > 200) throw invalid('description', 'description must be at most 200 characters');
  if (input.kind === 'submission' && input.domain !== undefined)
    throw invalid('domain', "only inbound credentials belong to a domain; a submission credential sends from its organisation's verified domains");
  if (input.kind === 'inbound' && input.domain === undefined) throw invalid('domain', 'an inbound credential belongs to one claimed domain: name it');
  if (input.kind === 'inbound' && input.allowedSenders !== undefined)
    throw invalid('allowedSenders', 'allowed senders narrow what a submission credential may send as; an inbound credential does not submit');
  if (input.kind === 'submission' && input.tlsClientName !== undefined)
    throw invalid('tlsClientName', 'only inbound credentials authenticate by client certificate; a submission credential uses AUTH');
  if (input.expiresAt !== undefined && input.expiresInMs !== undefined) throw invalid('expiresIn', 'give an expiry time or a duration, not both');
  const expiresAt = input.expiresInMs === undefined ? input.expiresAt : nowMs + input.expiresInMs;
  if (expiresAt !== undefined && !(expiresAt > nowMs))
    throw invalid(input.expiresInMs === undefined ? 'expiresAt' : 'expiresIn', 'the expiry time must be in the future');
  const max = input.maxMessagesPerHour;
  if (max !== undefined && !(Number.isInteger(max) && max >= 1)) throw invalid('maxMessagesPerHour', 'the message rate must be a whole number of at least 1');
  return {
    description,
    allowedSenders: checkList('allowedSenders', input.allowedSenders, parseSender),
    allowedNetworks: checkList('allowedNetworks', input.allowedNetworks, parseCidr),
    tlsClientName: input.tlsClientName === undefined ? null : checkTlsClientName(input.tlsClientName),
    expiresAt: expiresAt ?? null,
    maxMessagesPerHour: max ?? null,
  };
}

// RFC 1123 labels; at least two, since a client certificate is issued for a host in a domain.
const HOST_NAME = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

/**
 * The name a certificate must be valid for, as its SAN DNS entries are matched (RFC 6125
 * §6.4): a concrete host name. A certificate for `*.example.com` is valid for
 * `mail.example.com`, but the credential names the host, never the wildcard.
 */
function checkTlsClientName(value: string): string {
  const name = value.trim().toLowerCase().replace(/\.$/, '');
  if (name.includes('*'))
    throw invalid('tlsClientName', `"${value}" is a wildcard: name the host the certificate is for (a *.example.com certificate matches mail.example.com)`);
  if (!HOST_NAME.test(name))
    throw invalid('tlsClientName', `"${value}" is not a DNS host name such as mail.example.com: give the name the mail server's certificate carries as a SAN`);
  return name;
}

function checkList(field: string, items: string[] | undefined, parse: (item: string) => { value: string } | { problem: string }): string[] | null {
  if (items === undefined) return null;
  if (items.length === 0) throw invalid(field, `${field} is empty, which would allow nothing; leave it out to allow all`);
  const values = items.map((item, i) => {
    const parsed = parse(item);
    if ('problem' in parsed) throw invalid(`${field}.${i}`, parsed.problem);
    return parsed.value;
  });
  return [...new Set(values)];
}

function parseSender(item: string): { value: string } | { problem: string } {
  const parsed = parseSenderEntry(item);
  return 'entry' in parsed ? { value: parsed.entry } : parsed;
}

function parseCidr(item: string): { value: string } | { problem: string } {
  const parsed = parseNetwork(item);
  return 'network' in parsed ? { value: parsed.network.text } : parsed;
}
