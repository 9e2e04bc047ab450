import type { SyncedUser } from './address-sync.js';

/**
 * Which LDAP attributes say what. The defaults read both OpenLDAP (inetOrgPerson: mail,
 * entryUUID, cn) and Active Directory (proxyAddresses, objectGUID, displayName,
 * userAccountControl), so one mapping fits either; the first attribute of a list that an entry
 * has wins.
 */
export interface LdapMapping {
  /** The mailbox. AD's primary "SMTP:" proxyAddress stands in when an entry has no mail. */
  mail: string;
  /** Further addresses: "smtp:" proxyAddresses (other types, X500: or SIP:, are not mail), mailAlternateAddress. */
  aliases: string[];
  /** What keeps a user the same user across renames. */
  externalId: string[];
  description: string[];
  /** A true-valued attribute (TRUE, true, yes, 1) that marks a user inactive: suspended. AD's disabled bit is read regardless. */
  inactive: string | null;
}

export const DEFAULT_MAPPING: LdapMapping = {
  mail: 'mail',
  aliases: ['proxyAddresses', 'mailAlternateAddress'],
  externalId: ['entryUUID', 'objectGUID'],
  description: ['displayName', 'cn'],
  inactive: null,
};

/** AD's userAccountControl ACCOUNTDISABLE flag (MS-ADTS 2.2.16). */
const ACCOUNT_DISABLE = 0x2;
const BINARY_ATTRIBUTES = ['objectGUID'];

export type LdapValue = string | string[] | Buffer | Buffer[];
export type LdapEntry = { dn: string } & Record<string, LdapValue>;

/** The attributes a search asks for, and those that must come back as bytes. */
export function requestedAttributes(mapping: LdapMapping): { attributes: string[]; binary: string[] } {
  const attributes = [...new Set([mapping.mail, ...mapping.aliases, ...mapping.externalId, ...mapping.description, 'userAccountControl', 'proxyAddresses'])];
  if (mapping.inactive) attributes.push(mapping.inactive);
  return { attributes, binary: attributes.filter((a) => BINARY_ATTRIBUTES.some((b) => b.toLowerCase() === a.toLowerCase())) };
}

export type MappedEntry = { user: SyncedUser } | { skipped: string };

/** One entry as a directory user; an entry with no mail address is skipped with the reason. */
export function mapEntry(entry: LdapEntry, mapping: LdapMapping): MappedEntry {
  const proxies = texts(entry, 'proxyAddresses');
  const primary = proxies.find((p) => p.startsWith('SMTP:'))?.slice(5);
  const address = (texts(entry, mapping.mail)[0] ?? primary)?.trim().toLowerCase();
  if (!address) return { skipped: `${entry.dn} has no ${mapping.mail} attribute (nor an SMTP: proxyAddress): it has no address to sync` };
  const aliases = mapping.aliases.flatMap((name) => {
    const values = texts(entry, name);
    // proxyAddresses is typed ("smtp:", "SIP:", "X500:"); only the mail types are addresses.
    return name.toLowerCase() === 'proxyaddresses' ? values.filter((v) => /^smtp:/i.test(v)).map((v) => v.slice(5)) : values;
  });
  return {
    user: {
      address,
      externalId: firstOf(entry, mapping.externalId, identifier),
      description: firstOf(entry, mapping.description, (v) => (typeof v === 'string' ? v : v.toString('utf8'))) ?? '',
      active: !disabled(entry, mapping),
      aliases: [...new Set(aliases.map((a) => a.trim().toLowerCase()))].filter((a) => a !== '' && a !== address),
    },
  };
}

function disabled(entry: LdapEntry, mapping: LdapMapping): boolean {
  const control = Number(texts(entry, 'userAccountControl')[0]);
  if (Number.isInteger(control) && (control & ACCOUNT_DISABLE) !== 0) return true;
  if (!mapping.inactive) return false;
  return texts(entry, mapping.inactive).some((v) => /^(true|yes|1)$/i.test(v.trim()));
}

/** An attribute's values as text, whatever the case the server spelled its name in. */
function texts(entry: LdapEntry, name: string): string[] {
  const value = attribute(entry, name);
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((v) => (typeof v === 'string' ? v : v.toString('utf8')));
}

function attribute(entry: LdapEntry, name: string): LdapValue | undefined {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined || key === 'dn' ? undefined : entry[key];
}

function firstOf<T>(entry: LdapEntry, names: string[], read: (v: string | Buffer) => T): T | null {
  for (const name of names) {
    const value = attribute(entry, name);
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined && first.length > 0) return read(first);
  }
  return null;
}

/** entryUUID is text; objectGUID is 16 bytes, shown as AD shows it (the first three groups little-endian). */
function identifier(value: string | Buffer): string {
  if (typeof value === 'string') return value;
  if (value.length !== 16) return value.toString('hex');
  const hex = (from: number, to: number, reverse = false) => {
    const part = [...value.subarray(from, to)];
    return (reverse ? part.reverse() : part).map((b) => b.toString(16).padStart(2, '0')).join('');
  };
  return `${hex(0, 4, true)}-${hex(4, 6, true)}-${hex(6, 8, true)}-${hex(8, 10)}-${hex(10, 16)}`;
}
