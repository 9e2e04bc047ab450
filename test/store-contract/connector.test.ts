import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LegCheckRecord } from '../../src/connector/connector-store.js';
import { DEFAULT_ORGANISATION_ID } from '../../src/model/organisation.js';
import { sqlConnectorStore } from '../../src/store/connector/index.js';
import { type ContractStore, onFreshStore, storeEngines } from '../support/store-engines.js';

const ACTOR = { name: 'cli:contract', ip: null };

const withStore = onFreshStore;

async function addDomain(
  s: ContractStore,
  id: string,
  name: string,
  over: { status?: 'pending' | 'verified'; state?: 'connected' | 'draining' | 'disconnected' } = {},
) {
  await s.db
    .insertInto('domains')
    .values({
      id,
      organisation_id: DEFAULT_ORGANISATION_ID,
      name,
      status: over.status ?? 'verified',
      verification_token: `tok-${id}`,
      created_at: 1,
      verified_at: 1,
      verified_by: 'dns',
      last_check_at: null,
      last_check_result: null,
      connector_state: over.state ?? 'connected',
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
  over: { kind?: 'inbound' | 'submission'; createdAt?: number; revokedAt?: number; expiresAt?: number; retireAt?: number } = {},
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
      expires_at: over.expiresAt ?? null,
      max_messages_per_hour: null,
      retire_at: over.retireAt ?? null,
      retirement_set_at: null,
      tls_client_name: null,
    })
    .execute();
}

async function addMessage(
  s: ContractStore,
  id: string,
  mailFrom: string,
  recipients: { address: string; status: 'queued' | 'deferred' | 'delivered' | 'bounced'; lastReply?: string }[],
) {
  await s.db
    .insertInto('messages')
    .values({
      id,
      mail_from: mailFrom,
      size_bytes: 10,
      received_at: 1,
      expires_at: 10_000,
      credential_id: null,
      client_ip: '127.0.0.1',
      env_id: null,
      dsn_ret: null,
      is_dsn: 0,
      completed_at: null,
      direction: 'outbound',
      body_purged_at: null,
      tls_required: null,
      subject: null,
    })
    .execute();
  for (const [position, r] of recipients.entries())
    await s.db
      .insertInto('recipients')
      .values({
        message_id: id,
        position,
        address: r.address,
        notify: null,
        orcpt: null,
        status: r.status,
        attempts: 0,
        next_attempt_at: 1,
        last_attempt_at: null,
        last_reply: r.lastReply ?? null,
        lease_owner: null,
        lease_until: null,
      })
      .execute();
}

function check(id: string, domainId: string, over: Partial<LegCheckRecord> = {}): LegCheckRecord {
  return {
    id,
    domainId,
    leg: 'outbound',
    trigger: 'setup',
    tokenHash: `hash-${id}`,
    status: 'pending',
    reason: null,
    queueId: null,
    startedAt: 100,
    deadlineAt: 200,
    finishedAt: null,
    ...over,
  };
}

for (const engine of storeEngines()) {
  describe(`connector store on ${engine.name}`, engine.options, () => {
    test('a domain is found by name in any case, with a trailing dot, or by id', () =>
      withStore(engine, async (s) => {
        await addDomain(s, 'dom_1', 'example.com');
        const store = sqlConnectorStore(s.db);
        const expected = { id: 'dom_1', name: 'example.com', status: 'verified', connectorState: 'connected', connectorChangedAt: null };
        assert.deepEqual(await store.domain('Example.COM.'), expected);
        assert.deepEqual(await store.domain('dom_1'), expected);
        assert.equal(await store.domain('other.example'), undefined);
        assert.equal(await store.domainName('dom_1'), 'example.com');
      }));

    test('the verification address is the support address, else the oldest', () =>
      withStore(engine, async (s) => {
        await addDomain(s, 'dom_1', 'example.com');
        const store = sqlConnectorStore(s.db);
        assert.equal(await store.verificationAddress('dom_1'), undefined);
        const address = (id: string, addr: string, kind: 'support' | 'functional', createdAt: number) =>
          s.db
            .insertInto('addresses')
            .values({
              id,
              domain_id: 'dom_1',
              address: addr,
              kind,
              description: '',
              created_at: createdAt,
              source: 'manual',
              external_id: null,
              suspended_at: null,
            })
            .execute();
        await address('adr_2', 'later@example.com', 'functional', 20);
        await address('adr_1', 'first@example.com', 'functional', 10);
        assert.equal(await store.verificationAddress('dom_1'), 'first@example.com');
        await address('adr_3', 'support@example.com', 'support', 30);
        assert.equal(await store.verificationAddress('dom_1'), 'support@example.com');
      }));

    test('live inbound credentials leave out revoked, expired, retired and submission ones, oldest first', () =>
      withStore(engine, async (s) => {
        await addDomain(s, 'dom_1', 'example.com');
        await addDomain(s, 'dom_2', 'other.example');
        await addCredential(s, 'cred_new', 'dom_1', { createdAt: 30 });
        await addCredential(s, 'cred_old', 'dom_1', { createdAt: 10 });
        await addCredential(s, 'cred_retiring', 'dom_1', { createdAt: 20, retireAt: 2_000 });
        await addCredential(s, 'cred_revoked', 'dom_1', { revokedAt: 5 });
        await addCredential(s, 'cred_expired', 'dom_1', { expiresAt: 1_000 });
        await addCredential(s, 'cred_retired', 'dom_1', { retireAt: 1_000 });
        await addCredential(s, 'cred_other', 'dom_2');
        await addCredential(s, 'cred_sub', null, { kind: 'submission' });
        const store = sqlConnectorStore(s.db);
        assert.deepEqual(await store.liveInboundCredentials('dom_1', 1_000), ['cred_old', 'cred_retiring', 'cred_new']);
        assert.deepEqual(await store.credential('cred_sub'), { kind: 'submission', domainId: null });
        assert.deepEqual(await store.credential('cred_old'), { kind: 'inbound', domainId: 'dom_1' });
      }));

    test('queued counts messages still queued or deferred to or from the domain, in any case, once each', () =>
      withStore(engine, async (s) => {
        await addMessage(s, 'm1', 'app@sender.example', [
          { address: 'A@Example.com', status: 'queued' },
          { address: 'b@example.com', status: 'deferred' },
        ]);
        await addMessage(s, 'm2', 'Support@EXAMPLE.com', [{ address: 'x@elsewhere.example', status: 'deferred' }]);
        await addMessage(s, 'm3', 'app@sender.example', [{ address: 'c@example.com', status: 'delivered', lastReply: '250 ok' }]);
        await addMessage(s, 'm4', 'app@sender.example', [{ address: 'c@notexample.com', status: 'queued' }]);
        const store = sqlConnectorStore(s.db);
        assert.equal(await store.queuedFor('example.com'), 2);
        assert.deepEqual(await store.sentStatus('m3'), { status: 'delivered', lastReply: '250 ok' });
        assert.equal(await store.sentStatus('gone'), undefined);
      }));

    test('checks: newest first per leg, verified since, pending only finished once, pending failed by domain', () =>
      withStore(engine, async (s) => {
        await addDomain(s, 'dom_1', 'example.com');
        await addDomain(s, 'dom_2', 'other.example');
        const store = sqlConnectorStore(s.db);
        await store.insertCheck(check('chk_a', 'dom_1', { startedAt: 100, status: 'verified', finishedAt: 150 }));
        await store.insertCheck(check('chk_b', 'dom_1', { startedAt: 300 }));
        await store.insertCheck(check('chk_c', 'dom_1', { startedAt: 300, leg: 'inbound' }));
        await store.insertCheck(check('chk_d', 'dom_2', { startedAt: 300 }));
        assert.deepEqual(
          (await store.checks('dom_1', { limit: 10 })).map((c) => c.id),
          ['chk_c', 'chk_b', 'chk_a'],
        );
        assert.deepEqual(
          (await store.checks('dom_1', { leg: 'outbound', limit: 1 })).map((c) => c.id),
          ['chk_b'],
        );
        assert.deepEqual(await store.checkByTokenHash('hash-chk_a'), check('chk_a', 'dom_1', { startedAt: 100, status: 'verified', finishedAt: 150 }));
        assert.equal(await store.verifiedSince('dom_1', 'outbound', 100), true);
        assert.equal(await store.verifiedSince('dom_1', 'outbound', 101), false);
        assert.equal(await store.verifiedSince('dom_1', 'inbound', 0), false);

        assert.equal(await store.finishCheck('chk_b', 'verified', null, 400), true);
        assert.equal(await store.finishCheck('chk_b', 'failed', 'late', 500), false, 'a finished check stays as it ended');
        assert.equal((await store.checkByTokenHash('hash-chk_b'))?.status, 'verified');
        assert.deepEqual((await store.pendingChecks()).map((c) => c.id).sort(), ['chk_c', 'chk_d']);
        await store.failPending('dom_1', 'superseded', 600);
        assert.deepEqual(
          await store.checkByTokenHash('hash-chk_c'),
          check('chk_c', 'dom_1', { startedAt: 300, leg: 'inbound', status: 'failed', reason: 'superseded', finishedAt: 600 }),
        );
        assert.deepEqual(
          (await store.pendingChecks()).map((c) => c.id),
          ['chk_d'],
          'only that domain',
        );
      }));

    test('checked domains: connected and verified ones with a check, and their newest start', () =>
      withStore(engine, async (s) => {
        await addDomain(s, 'dom_1', 'example.com');
        await addDomain(s, 'dom_2', 'draining.example', { state: 'draining' });
        await addDomain(s, 'dom_3', 'pending.example', { status: 'pending' });
        await addDomain(s, 'dom_4', 'unchecked.example');
        const store = sqlConnectorStore(s.db);
        await store.insertCheck(check('chk_1', 'dom_1', { startedAt: 100 }));
        await store.insertCheck(check('chk_2', 'dom_1', { startedAt: 700, leg: 'inbound' }));
        await store.insertCheck(check('chk_3', 'dom_2', { startedAt: 100 }));
        await store.insertCheck(check('chk_4', 'dom_3', { startedAt: 100 }));
        assert.deepEqual(await store.checkedDomains(), [{ id: 'dom_1', name: 'example.com', lastStartedAt: 700 }]);
        assert.deepEqual(await store.drainingDomains(), [{ id: 'dom_2', name: 'draining.example' }]);
      }));

    test('a disconnect revokes, removes the domain connections and changes state with its audit record, together', () =>
      withStore(engine, async (s) => {
        await addDomain(s, 'dom_1', 'example.com', { state: 'draining' });
        await addCredential(s, 'cred_1', 'dom_1');
        const connection = (id: string, scope: string) =>
          s.db
            .insertInto('connections')
            .values({
              id,
              organisation_id: DEFAULT_ORGANISATION_ID,
              scope_kind: scope.includes('@') ? 'address' : 'domain',
              scope,
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
        await connection('con_domain', 'example.com');
        await connection('con_address', 'ops@example.com');
        await connection('con_other', 'notexample.com');
        const store = sqlConnectorStore(s.db);
        const disconnect = (fail: boolean) =>
          store.change(async (tx) => {
            const credentials = await tx.liveInboundCredentials('dom_1', 1_000);
            await tx.revokeCredentials(credentials, 1_000);
            const removed = await tx.removeConnectionsOf('example.com');
            await tx.setConnectorState('dom_1', 'disconnected', 1_000);
            await tx.audit(ACTOR, { action: 'domain.disconnected', targetType: 'domain', targetId: 'example.com' }, 1_000);
            if (fail) throw new Error('refused');
            return removed;
          });
        await assert.rejects(disconnect(true), /refused/);
        assert.equal((await store.domain('dom_1'))?.connectorState, 'draining', 'rolled back');
        assert.deepEqual(await store.liveInboundCredentials('dom_1', 1_000), ['cred_1']);
        assert.equal((await s.db.selectFrom('connections').select('id').execute()).length, 3);
        assert.deepEqual(await s.db.selectFrom('audit_log').select('action').execute(), []);

        assert.deepEqual((await disconnect(false)).sort(), ['con_address', 'con_domain']);
        assert.deepEqual(await store.domain('dom_1'), {
          id: 'dom_1',
          name: 'example.com',
          status: 'verified',
          connectorState: 'disconnected',
          connectorChangedAt: 1_000,
        });
        assert.deepEqual(await store.liveInboundCredentials('dom_1', 1_000), []);
        assert.deepEqual(await s.db.selectFrom('connections').select('id').execute(), [{ id: 'con_other' }]);
        assert.deepEqual(await s.db.selectFrom('audit_log').select('action').execute(), [{ action: 'domain.disconnected' }]);
      }));

    test('reconnect takes only a disconnected domain', () =>
      withStore(engine, async (s) => {
        await addDomain(s, 'dom_1', 'example.com', { state: 'draining' });
        const store = sqlConnectorStore(s.db);
        assert.equal(await store.change((tx) => tx.reconnect('dom_1', 50)), false);
        await store.change((tx) => tx.setConnectorState('dom_1', 'disconnected', 60));
        assert.equal(await store.change((tx) => tx.reconnect('dom_1', 70)), true);
        assert.deepEqual(await store.domain('dom_1'), {
          id: 'dom_1',
          name: 'example.com',
          status: 'verified',
          connectorState: 'connected',
          connectorChangedAt: 70,
        });
      }));
  });
}
