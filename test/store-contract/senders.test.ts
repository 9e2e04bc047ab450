import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_ORGANISATION_ID } from '../../src/model/organisation.js';
import { sqlDomainStore } from '../../src/store/domains/index.js';
import { sqlSenderStore } from '../../src/store/senders/index.js';
import { storeEngines } from '../support/store-engines.js';

for (const engine of storeEngines()) {
  describe(`sender store on ${engine.name}`, engine.options, () => {
    test('submitter answers the credential as the sender check needs it; domainsNamed the claims of those names', async () => {
      const s = await engine.open();
      try {
        const senders = sqlSenderStore(s.db);
        await sqlDomainStore(s.db).change(async (tx) => {
          await tx.insert({ id: 'dom_a', organisationId: DEFAULT_ORGANISATION_ID, name: 'a.org', verificationToken: 't', createdAt: 1 });
          await tx.markVerified('dom_a', 'dns', null, 2);
          await tx.insert({ id: 'dom_b', organisationId: DEFAULT_ORGANISATION_ID, name: 'b.org', verificationToken: 't', createdAt: 1 });
        });
        await s.db
          .insertInto('credentials')
          .values({
            id: 'crd_1',
            kind: 'submission',
            description: '',
            username: 'app',
            secret_hash: 'x',
            created_at: 1,
            last_used_at: null,
            last_used_ip: null,
            revoked_at: null,
            domain_id: null,
            allowed_senders: '["@a.org"]',
            allowed_networks: null,
            expires_at: 50,
            max_messages_per_hour: null,
            retire_at: 60,
            retirement_set_at: null,
            tls_client_name: null,
          })
          .execute();
        const found = await senders.submitter('crd_1');
        assert.deepEqual(found && { ...found, expiresAt: Number(found.expiresAt), retireAt: Number(found.retireAt) }, {
          kind: 'submission',
          organisationId: DEFAULT_ORGANISATION_ID,
          allowedSendersJson: '["@a.org"]',
          revokedAt: null,
          expiresAt: 50,
          retireAt: 60,
        });
        assert.equal(await senders.submitter('crd_none'), undefined);
        const named = await senders.domainsNamed(['b.org', 'a.org', 'c.org']);
        assert.deepEqual(
          named.sort((x, y) => x.name.localeCompare(y.name)),
          [
            { name: 'a.org', organisationId: DEFAULT_ORGANISATION_ID, status: 'verified', connectorState: 'connected' },
            { name: 'b.org', organisationId: DEFAULT_ORGANISATION_ID, status: 'pending', connectorState: 'connected' },
          ],
        );
        assert.deepEqual(await senders.domainsNamed([]), []);
      } finally {
        await s.dispose();
      }
    });
  });
}
