import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sql } from 'kysely';
import { SECRET_PURPOSE as CONNECTION_SECRET } from '../../src/directory/connections.js';
import { SECRET_PURPOSE as WEBHOOK_SECRET } from '../../src/directory/inbound-targets.js';
import { KEY_PURPOSE as DKIM_KEY } from '../../src/dkim/dkim-directory.js';
import { DEFAULT_ORGANISATION_ID } from '../../src/model/organisation.js';
import type { Spool } from '../../src/queue/spool.js';
import type { KeyEncryption } from '../../src/secure/key-encryption.js';
import { BodyEncryptor, newDataKey, sealWithDataKey } from '../../src/secure/message-cipher.js';
import { LDAP_BIND_PASSWORD_PURPOSE, LDAP_CLIENT_KEY_PURPOSE } from '../../src/secure/seal-purposes.js';
import { DATA_KEY_PURPOSE, META_PURPOSE, PORTAL_TOKEN_PURPOSE } from '../../src/secure/vault.js';
import type { Db } from '../../src/store/tables.js';
import { insertDomain } from './gateway-process.js';
import { sealV1 } from './legacy-seal.js';

/** One sealed value as the test wrote it: where it is, what it was sealed with, what it holds. */
export interface Planted {
  column: string;
  id: string;
  purpose: string;
  plaintext: Buffer;
}

/** How a value is sealed: by the gateway's ring (v2), or as the code before key ids did (v1). */
export type Sealer = { kind: 'ring'; ring: KeyEncryption } | { kind: 'v1'; key: Buffer };

export function seal(sealer: Sealer, plaintext: Buffer, purpose: string, id: string): string {
  return sealer.kind === 'ring' ? sealer.ring.seal(plaintext, { purpose, id }) : sealV1(sealer.key, plaintext, { purpose, id });
}

const now = Date.now();

/** The secret is text: delivery hands it to SMTP AUTH as a string. */
export async function plantConnection(db: Db, id: string, sealer: Sealer | null): Promise<Planted[]> {
  const plaintext = Buffer.from(randomBytes(24).toString('base64url'));
  await db
    .insertInto('connections')
    .values({
      id,
      organisation_id: DEFAULT_ORGANISATION_ID,
      scope_kind: 'domain',
      scope: `${id}.example`,
      host: 'smtp.example.net',
      port: 587,
      tls_mode: 'starttls',
      username: sealer ? 'relay' : null,
      secret_sealed: sealer ? seal(sealer, plaintext, CONNECTION_SECRET, id) : null,
      created_at: now,
      updated_at: now,
    })
    .execute();
  return sealer ? [{ column: 'connections.secret_sealed', id, purpose: CONNECTION_SECRET, plaintext }] : [];
}

/** An LDAP sync source (directory sync --ldap) with its bind password and client key sealed. */
export async function plantLdapSource(db: Db, id: string, password: Sealer, clientKey: Sealer): Promise<Planted[]> {
  const [secret, key] = [
    Buffer.from(randomBytes(18).toString('base64url')),
    Buffer.from('-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----\n'),
  ];
  await db
    .insertInto('directory_sync_sources')
    .values({
      id,
      organisation_id: DEFAULT_ORGANISATION_ID,
      kind: 'ldap',
      url: 'ldaps://ldap.example.com',
      base_dn: 'ou=people,dc=example,dc=com',
      filter: '(mail=*)',
      bind_dn: 'cn=relaygate,dc=example,dc=com',
      bind_password_sealed: seal(password, secret, LDAP_BIND_PASSWORD_PURPOSE, id),
      ca_cert: null,
      client_cert: '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n',
      client_key_sealed: seal(clientKey, key, LDAP_CLIENT_KEY_PURPOSE, id),
      mapping: '{}',
      interval_ms: 900_000,
      created_at: now,
      updated_at: now,
      last_run_at: null,
      last_status: null,
      last_result: null,
      last_error: null,
    })
    .execute();
  return [
    { column: 'directory_sync_sources.bind_password_sealed', id, purpose: LDAP_BIND_PASSWORD_PURPOSE, plaintext: secret },
    { column: 'directory_sync_sources.client_key_sealed', id, purpose: LDAP_CLIENT_KEY_PURPOSE, plaintext: key },
  ];
}

export async function plantWebhookTarget(db: Db, id: string, current: Sealer, previous: Sealer): Promise<Planted[]> {
  const [secret, previousSecret] = [randomBytes(32), randomBytes(32)];
  await db
    .insertInto('inbound_targets')
    .values({
      id,
      organisation_id: DEFAULT_ORGANISATION_ID,
      scope: `organisation:${DEFAULT_ORGANISATION_ID}`,
      domain_id: null,
      kind: 'webhook',
      url: 'https://app.example.com/hook',
      forward_to: null,
      synchronous: 0,
      secret_sealed: seal(current, secret, WEBHOOK_SECRET, id),
      previous_secret_sealed: seal(previous, previousSecret, WEBHOOK_SECRET, id),
      previous_secret_until: now + 86_400_000,
      created_at: now,
      updated_at: now,
    })
    .execute();
  return [
    { column: 'inbound_targets.secret_sealed', id, purpose: WEBHOOK_SECRET, plaintext: secret },
    { column: 'inbound_targets.previous_secret_sealed', id, purpose: WEBHOOK_SECRET, plaintext: previousSecret },
  ];
}

export async function plantDkimKey(db: Db, id: string, sealer: Sealer): Promise<Planted[]> {
  await insertDomain(db, 'example.com');
  const domain = await db.selectFrom('domains').select('id').where('name', '=', 'example.com').executeTakeFirstOrThrow();
  const plaintext = Buffer.from(`-----BEGIN PRIVATE KEY-----\n${randomBytes(48).toString('base64')}\n-----END PRIVATE KEY-----\n`);
  await db
    .insertInto('dkim_keys')
    .values({
      id,
      domain_id: domain.id,
      selector: `${id}-ed`,
      algorithm: 'ed25519-sha256',
      private_sealed: seal(sealer, plaintext, DKIM_KEY, id),
      public_record: 'v=DKIM1; k=ed25519; p=AAAA',
      state: 'active',
      grace_ms: null,
      created_at: now,
      published_seen_at: now,
      activated_at: now,
      retire_at: null,
      retired_at: null,
      last_check_at: null,
      last_check_result: null,
    })
    .execute();
  return [{ column: 'dkim_keys.private_sealed', id, purpose: DKIM_KEY, plaintext }];
}

/**
 * A secure message as the acceptance path leaves it: the body encrypted under its own data
 * key in the spool, the data key sealed by the key-encryption key; `sealer` null: shredded.
 */
export async function plantSecureMessage(db: Db, spool: Spool, id: string, body: Buffer, sealer: Sealer | null): Promise<Planted[]> {
  const dataKey = newDataKey();
  const encryptor = new BodyEncryptor(dataKey, id);
  const writer = await spool.create(id);
  await pipeline(Readable.from([body]), encryptor, writer.stream);
  await writer.finish();
  const bodySeal = encryptor.seal();
  await db
    .insertInto('secure_messages')
    .values({
      id,
      organisation_id: DEFAULT_ORGANISATION_ID,
      sender: 'app@example.com',
      data_key_sealed: sealer ? seal(sealer, dataKey, DATA_KEY_PURPOSE, id) : null,
      body_iv: bodySeal.iv,
      body_tag: bodySeal.tag,
      meta_sealed: sealWithDataKey(
        dataKey,
        id,
        META_PURPOSE,
        JSON.stringify({ subject: 'Contract', fromName: 'App', fromAddress: 'app@example.com', messageId: null }),
      ),
      created_at: now,
      retain_until: now + 86_400_000,
      revoked_at: null,
      shredded_at: sealer ? null : now,
    })
    .execute();
  return sealer ? [{ column: 'secure_messages.data_key_sealed', id, purpose: DATA_KEY_PURPOSE, plaintext: dataKey }] : [];
}

export async function plantSecureRecipient(db: Db, messageId: string, id: string, sealer: Sealer | null): Promise<Planted[]> {
  const token = randomBytes(32);
  await db
    .insertInto('secure_recipients')
    .values({
      id,
      message_id: messageId,
      address: `${id}@example.net`,
      token_hash: randomBytes(32).toString('hex'),
      token_sealed: sealer ? seal(sealer, token, PORTAL_TOKEN_PURPOSE, id) : null,
      status: 'notified',
      delivered_via: null,
      fallback_reason: null,
      evidence: null,
      notified_at: now,
      opened_at: null,
      replied_at: null,
      bounced_at: null,
      revoked_at: null,
      otp_hash: null,
      otp_expires_at: null,
      otp_attempts: 0,
      otp_sent_at: null,
      otp_failures: 0,
    })
    .execute();
  return sealer ? [{ column: 'secure_recipients.token_sealed', id, purpose: PORTAL_TOKEN_PURPOSE, plaintext: token }] : [];
}

/** The stored value of one planted secret, read back. */
export async function storedValue(db: Db, planted: Pick<Planted, 'column' | 'id'>): Promise<string | null> {
  const [table = '', column = ''] = planted.column.split('.');
  const { rows } = await sql<{ value: string | null }>`select ${sql.ref(column)} as value from ${sql.table(table)} where id = ${planted.id}`.execute(db);
  if (rows.length !== 1) throw new Error(`no row ${planted.id} in ${table}`);
  return rows[0]?.value ?? null;
}
