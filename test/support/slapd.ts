/**
 * A private OpenLDAP server per test file: a temp dir with a slapd.conf and an mdb database,
 * listening on ldap:// (StartTLS offered) and ldaps:// on loopback ports, with a certificate
 * from the test's own CA. It runs as the invoking user (no -u/-g) and never touches the
 * system's /etc/ldap/slapd.d or its service. Entries are loaded and changed with ldapadd and
 * ldapmodify, as an administrator of the real directory would.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { LeafCert, TestCa } from './certs.js';
import { freePort } from './free-port.js';
import { waitFor } from './wait-for.js';

const SLAPD = '/usr/sbin/slapd';
const LDAPADD = '/usr/bin/ldapadd';
const LDAPMODIFY = '/usr/bin/ldapmodify';
const SCHEMA_DIR = '/etc/ldap/schema';
const MODULE_DIR = '/usr/lib/ldap';

export const SUFFIX = 'dc=example,dc=com';
export const ADMIN_DN = `cn=admin,${SUFFIX}`;
export const ADMIN_PASSWORD = 'admin-secret';
/** The account the gateway binds as: it may read people, nothing else. */
export const SERVICE_DN = `cn=relaygate,ou=services,${SUFFIX}`;
export const SERVICE_PASSWORD = 'service-pass-7f3a';
export const PEOPLE_DN = `ou=people,${SUFFIX}`;

/** Undefined when a private slapd can run here; otherwise why not, for needsPeer. */
export function slapdUnavailable(): string | undefined {
  const missing = [SLAPD, LDAPADD, LDAPMODIFY, join(SCHEMA_DIR, 'inetorgperson.schema'), join(MODULE_DIR, 'back_mdb.so')].filter((p) => !existsSync(p));
  if (missing.length > 0) return `OpenLDAP is not installed (no ${missing.join(', ')}); .ci/run installs slapd and ldap-utils with apt-get as root`;
  return undefined;
}

export interface Slapd {
  /** ldap://127.0.0.1:PORT: StartTLS is offered, nothing is required. */
  ldapUrl: string;
  ldapsUrl: string;
  /** Adds entries (LDIF) as the administrator. */
  add(ldif: string): Promise<void>;
  /** Applies an LDIF of changetype records as the administrator. */
  modify(ldif: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * AD's and Sun's attributes beside OpenLDAP's schema, under their real OIDs, so that one
 * directory can hold entries shaped like either (an auxiliary class carries them).
 */
const TEST_SCHEMA = `
attributetype ( 1.2.840.113556.1.2.210 NAME 'proxyAddresses'
  EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
  EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 2.16.840.1.113730.3.1.13 NAME 'mailAlternateAddress'
  EQUALITY caseIgnoreIA5Match SYNTAX 1.3.6.1.4.1.1466.115.121.1.26 )
attributetype ( 1.3.6.1.4.1.99999.1.2 NAME 'relaygateInactive'
  EQUALITY booleanMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.7 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.99999.1.1 NAME 'relaygateTestAccount' AUXILIARY
  MAY ( proxyAddresses $ userAccountControl $ mailAlternateAddress $ relaygateInactive ) )
`;

/**
 * `tls: false`: a server with no certificate, whose ldap:// refuses StartTLS (and no ldaps://
 * listener). `clientCertificates: true`: Google's Secure LDAP, which demands a client certificate
 * signed by the CA and then lets the client read without a bind.
 */
export async function startSlapd(dir: string, ca: TestCa, leaf: LeafCert, options: { tls?: boolean; clientCertificates?: boolean } = {}): Promise<Slapd> {
  const withTls = options.tls !== false;
  const dbDir = join(dir, 'db');
  await mkdir(dbDir, { recursive: true });
  await writeFile(join(dir, 'ca.pem'), ca.caCert);
  await writeFile(join(dir, 'server.pem'), leaf.cert);
  await writeFile(join(dir, 'server.key'), leaf.key, { mode: 0o600 });
  await writeFile(join(dir, 'test.schema'), TEST_SCHEMA);
  const conf = [
    ...['core', 'cosine', 'inetorgperson', 'nis'].map((s) => `include ${join(SCHEMA_DIR, `${s}.schema`)}`),
    `include ${join(dir, 'test.schema')}`,
    `pidfile ${join(dir, 'slapd.pid')}`,
    `modulepath ${MODULE_DIR}`,
    'moduleload back_mdb',
    ...(withTls
      ? [`TLSCACertificateFile ${join(dir, 'ca.pem')}`, `TLSCertificateFile ${join(dir, 'server.pem')}`, `TLSCertificateKeyFile ${join(dir, 'server.key')}`]
      : []),
    ...(options.clientCertificates ? ['TLSVerifyClient demand'] : []),
    'database mdb',
    'maxsize 104857600',
    `suffix "${SUFFIX}"`,
    `rootdn "${ADMIN_DN}"`,
    `rootpw ${ADMIN_PASSWORD}`,
    `directory ${dbDir}`,
    'access to attrs=userPassword by anonymous auth by * none',
    options.clientCertificates ? 'access to * by * read' : 'access to * by users read by * none',
    '',
  ].join('\n');
  await writeFile(join(dir, 'slapd.conf'), conf);
  const [port, tlsPort] = [await freePort(), await freePort()];
  const ldapUrl = `ldap://127.0.0.1:${port}`;
  const ldapsUrl = `ldaps://127.0.0.1:${tlsPort}`;
  // -d 0: stay in the foreground (so the test owns the process) without debug output.
  const listeners = withTls ? `${ldapUrl}/ ${ldapsUrl}/` : `${ldapUrl}/`;
  const child = spawn(SLAPD, ['-d', '0', '-f', join(dir, 'slapd.conf'), '-h', listeners], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`slapd exited (${child.exitCode}): ${stderr}`);
        return (await accepts(port)) && (!withTls || (await accepts(tlsPort)));
      },
      { what: 'slapd to listen' },
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const admin = ['-x', '-H', ldapUrl, '-D', ADMIN_DN, '-w', ADMIN_PASSWORD];
  const slapd: Slapd = {
    ldapUrl,
    ldapsUrl,
    add: (ldif) => ldapTool(LDAPADD, [...admin], ldif),
    modify: (ldif) => ldapTool(LDAPMODIFY, [...admin], ldif),
    stop: () => stopChild(child, exited),
  };
  await slapd.add(baseEntries());
  return slapd;
}

function baseEntries(): string {
  return `dn: ${SUFFIX}
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ${PEOPLE_DN}
objectClass: organizationalUnit
ou: people

dn: ou=services,${SUFFIX}
objectClass: organizationalUnit
ou: services

dn: ${SERVICE_DN}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: relaygate
userPassword: ${SERVICE_PASSWORD}
`;
}

/** An inetOrgPerson under ou=people with the test's auxiliary attributes. */
export function person(uid: string, attrs: Record<string, string | string[]>): string {
  const lines = [`dn: uid=${uid},${PEOPLE_DN}`, 'objectClass: inetOrgPerson', 'objectClass: relaygateTestAccount', `uid: ${uid}`];
  const all: Record<string, string | string[]> = { cn: uid, sn: uid, ...attrs };
  for (const [name, value] of Object.entries(all)) for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
  return `${lines.join('\n')}\n`;
}

async function ldapTool(tool: string, args: string[], ldif: string): Promise<void> {
  const child = execFile(tool, args);
  const done = new Promise<void>((resolve, reject) => {
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${tool} exited ${code}: ${stderr}\n${ldif}`))));
  });
  child.stdin?.end(ldif);
  await done;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
