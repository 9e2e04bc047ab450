import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_ORGANISATION_ID } from '../../src/model/organisation.js';
import type { CaptureRecord } from '../../src/sandbox/sandbox-store.js';
import { sqlSandboxStore } from '../../src/store/sandbox/index.js';
import { type ContractStore, onFreshStore, storeEngines } from '../support/store-engines.js';

const withStore = onFreshStore;

function capture(id: string, capturedAt: number, over: Partial<CaptureRecord> = {}): CaptureRecord {
  return {
    id,
    capturedAt,
    kind: 'smtp',
    queueId: `q-${id}`,
    mailFrom: 'app@example.com',
    recipients: ['a@example.net', 'b@example.net'],
    subject: `Subject ${id}`,
    sizeBytes: 123,
    decision: { route: 'relay (the default route)', nextHop: 'smarthost smtp.example.net:587', tls: 'STARTTLS required' },
    dkim: [{ domain: 'example.com', selector: 's1', result: 'pass', comment: 'checked' }],
    ...over,
  };
}

async function addDomain(s: ContractStore, id: string, name: string) {
  await s.db
    .insertInto('domains')
    .values({
      id,
      organisation_id: DEFAULT_ORGANISATION_ID,
      name,
      status: 'verified',
      verification_token: `tok-${id}`,
      created_at: 1,
      verified_at: 1,
      verified_by: 'dns',
      last_check_at: null,
      last_check_result: null,
      connector_state: 'connected',
      connector_changed_at: null,
      direct_delivery: 0,
      direct_delivery_changed_at: null,
    })
    .execute();
}

async function addCredential(
  s: ContractStore,
  id: string,
  domainId: string | null,
  over: { kind?: 'inbound' | 'submission'; createdAt?: number; revokedAt?: number } = {},
) {
  await s.db
    .insertInto('credentials')
    .values({
      id,
      kind: over.kind ?? 'inbound',
      description: id,
      username: id,
      secret_hash: 'x',
      created_at: over.createdAt ?? 1,
      last_used_at: null,
      last_used_ip: null,
      revoked_at: over.revokedAt ?? null,
      domain_id: domainId,
      allowed_senders: null,
      allowed_networks: null,
      expires_at: null,
      max_messages_per_hour: null,
      retire_at: null,
      retirement_set_at: null,
      tls_client_name: null,
    })
    .execute();
}

for (const engine of storeEngines()) {
  describe(`sandbox store on ${engine.name}`, engine.options, () => {
    test('the bytes live in rows on PostgreSQL only', () =>
      withStore(engine, async (s) => {
        assert.equal(sqlSandboxStore(s.db).bytesInRows, engine.name === 'PostgreSQL');
      }));

    test('an inserted capture is found as it went in, its bytes apart', () =>
      withStore(engine, async (s) => {
        const store = sqlSandboxStore(s.db);
        await store.insertCapture(capture('sbx_1', 10), Buffer.from('From: a\r\n\r\nbody'));
        await store.insertCapture(capture('sbx_2', 20, { kind: 'webhook', subject: null }), null);
        assert.deepEqual(await store.findCapture('sbx_1'), capture('sbx_1', 10));
        assert.equal(await store.findCapture('sbx_9'), undefined);
        assert.deepEqual(await store.captureBytes('sbx_1'), { kind: 'smtp', raw: Buffer.from('From: a\r\n\r\nbody') });
        assert.deepEqual(await store.captureBytes('sbx_2'), { kind: 'webhook', raw: null });
        assert.equal(await store.captureBytes('sbx_9'), undefined);
      }));

    test('list: newest first, then by id, paged, with the total', () =>
      withStore(engine, async (s) => {
        const store = sqlSandboxStore(s.db);
        await store.insertCapture(capture('sbx_a', 10), null);
        await store.insertCapture(capture('sbx_c', 30), null);
        await store.insertCapture(capture('sbx_b', 30), null);
        await store.insertCapture(capture('sbx_d', 20), null);
        const first = await store.listCaptures({ limit: 2, offset: 0 });
        assert.deepEqual(
          first.items.map((c) => c.id),
          ['sbx_c', 'sbx_b'],
        );
        assert.deepEqual({ total: first.total, limit: first.limit, offset: first.offset }, { total: 4, limit: 2, offset: 0 });
        assert.deepEqual(
          (await store.listCaptures({ limit: 2, offset: 2 })).items.map((c) => c.id),
          ['sbx_d', 'sbx_a'],
        );
      }));

    test('remove empties the mailbox and counts what went', () =>
      withStore(engine, async (s) => {
        const store = sqlSandboxStore(s.db);
        assert.equal(await store.removeCaptures(), 0);
        await store.insertCapture(capture('sbx_a', 10), null);
        await store.insertCapture(capture('sbx_b', 20), null);
        assert.deepEqual((await store.captureIds()).sort(), ['sbx_a', 'sbx_b']);
        assert.equal(await store.removeCaptures(), 2);
        assert.deepEqual(await store.captureIds(), []);
        assert.equal((await store.listCaptures({ limit: 10, offset: 0 })).total, 0);
      }));

    test('the newest unrevoked inbound credential of the domain, by name', () =>
      withStore(engine, async (s) => {
        await addDomain(s, 'dom_1', 'example.com');
        await addDomain(s, 'dom_2', 'other.example');
        const store = sqlSandboxStore(s.db);
        assert.equal(await store.newestInboundCredential('example.com'), undefined);
        await addCredential(s, 'cred_old', 'dom_1', { createdAt: 10 });
        await addCredential(s, 'cred_new', 'dom_1', { createdAt: 30 });
        await addCredential(s, 'cred_revoked', 'dom_1', { createdAt: 40, revokedAt: 50 });
        await addCredential(s, 'cred_other', 'dom_2', { createdAt: 60 });
        assert.equal(await store.newestInboundCredential('example.com'), 'cred_new');
        assert.equal(await store.newestInboundCredential('other.example'), 'cred_other');
      }));

    test('any connection, and the DKIM record held for a selector and domain', () =>
      withStore(engine, async (s) => {
        await addDomain(s, 'dom_1', 'example.com');
        const store = sqlSandboxStore(s.db);
        assert.equal(await store.anyConnection(), false);
        await s.db
          .insertInto('connections')
          .values({
            id: 'con_1',
            organisation_id: DEFAULT_ORGANISATION_ID,
            scope_kind: 'domain',
            scope: 'example.com',
            host: 'smtp.example.net',
            port: 587,
            tls_mode: 'starttls',
            username: null,
            secret_sealed: null,
            auth_kind: null,
            oauth2_token_url: null,
            oauth2_client_id: null,
            oauth2_scope: null,
            client_cert: null,
            client_key_sealed: null,
            created_at: 1,
            updated_at: 1,
          })
          .execute();
        assert.equal(await store.anyConnection(), true);
        assert.equal(await store.dkimPublicRecord('s1', 'example.com'), undefined);
        await s.db
          .insertInto('dkim_keys')
          .values({
            id: 'dk_1',
            domain_id: 'dom_1',
            selector: 's1',
            algorithm: 'ed25519-sha256',
            private_sealed: 'sealed',
            public_record: 'v=DKIM1; k=ed25519; p=abc',
            state: 'active',
            grace_ms: null,
            created_at: 1,
            published_seen_at: null,
            activated_at: 1,
            retire_at: null,
            retired_at: null,
            last_check_at: null,
            last_check_result: null,
          })
          .execute();
        assert.equal(await store.dkimPublicRecord('s1', 'example.com'), 'v=DKIM1; k=ed25519; p=abc');
        assert.equal(await store.dkimPublicRecord('s2', 'example.com'), undefined);
        assert.equal(await store.dkimPublicRecord('s1', 'other.example'), undefined);
      }));
  });
}
