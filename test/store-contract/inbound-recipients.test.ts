import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StoredAddress } from '../../src/directory/address-store.js';
import { DEFAULT_ORGANISATION_ID } from '../../src/model/organisation.js';
import { sqlAddressStore } from '../../src/store/addresses/index.js';
import { sqlDomainStore } from '../../src/store/domains/index.js';
import { sqlInboundRecipientStore } from '../../src/store/inbound-recipients/index.js';
import { type ContractStore, storeEngines } from '../support/store-engines.js';

const ORG = DEFAULT_ORGANISATION_ID;
const address = (id: string, mailbox: string, domainId: string, suspendedAt: number | null = null): StoredAddress => ({
  id,
  domainId,
  address: mailbox,
  kind: 'support',
  description: '',
  createdAt: 1,
  source: 'manual',
  externalId: null,
  suspendedAt,
});
const target = (id: string, scope: string, domainId: string | null, disabledAt: number | null) => ({
  id,
  organisation_id: ORG,
  scope,
  domain_id: domainId,
  kind: 'webhook' as const,
  url: 'https://app.example/hook',
  forward_to: null,
  synchronous: 0,
  secret_sealed: null,
  previous_secret_sealed: null,
  previous_secret_until: null,
  created_at: 1,
  updated_at: 1,
  disabled_at: disabledAt,
  disabled_reason: null,
});

/** Verified a.org and b.org, pending p.org; amy@a.org (alias amy@b.org), suspended sue@a.org, pat@p.org. */
async function withStore(engine: ReturnType<typeof storeEngines>[number], work: (s: ContractStore) => Promise<void>): Promise<void> {
  const s = await engine.open();
  try {
    await sqlDomainStore(s.db).change(async (tx) => {
      for (const [id, name] of [
        ['dom_a', 'a.org'],
        ['dom_b', 'b.org'],
        ['dom_p', 'p.org'],
      ] as const) {
        await tx.insert({ id, organisationId: ORG, name, verificationToken: 't', createdAt: 1 });
        if (id !== 'dom_p') await tx.markVerified(id, 'dns', null, 2);
      }
    });
    await sqlAddressStore(s.db).change(async (tx) => {
      await tx.insert(address('adr_amy', 'amy@a.org', 'dom_a'));
      await tx.insert(address('adr_sue', 'sue@a.org', 'dom_a', 5));
      await tx.insert(address('adr_pat', 'pat@p.org', 'dom_p'));
      await tx.insertAlias({ id: 'als_1', addressId: 'adr_amy', alias: 'amy@b.org', createdAt: 1 });
      await tx.insertAlias({ id: 'als_2', addressId: 'adr_sue', alias: 'sue@b.org', createdAt: 1 });
    });
    await work(s);
  } finally {
    await s.dispose();
  }
}

for (const engine of storeEngines()) {
  describe(`inbound recipient store on ${engine.name}`, engine.options, () => {
    test('ownerOf: an active address of a verified domain, else the address of an alias, with the address domain', async () => {
      await withStore(engine, async (s) => {
        const recipients = sqlInboundRecipientStore(s.db);
        const amy = { domainId: 'dom_a', domain: 'a.org', connectorState: 'connected', organisationId: ORG };
        assert.deepEqual(await recipients.ownerOf('amy@a.org'), amy);
        assert.deepEqual(await recipients.ownerOf('amy@b.org'), amy);
        for (const mailbox of ['sue@a.org', 'sue@b.org', 'pat@p.org', 'nobody@a.org']) assert.equal(await recipients.ownerOf(mailbox), undefined, mailbox);
        assert.deepEqual(await recipients.verifiedDomain('b.org'), { id: 'dom_b', name: 'b.org' });
        assert.equal(await recipients.verifiedDomain('p.org'), undefined);
      });
    });

    test("targetDisabled: the domain's own target wins over its organisation's; no target is not disabled", async () => {
      await withStore(engine, async (s) => {
        const recipients = sqlInboundRecipientStore(s.db);
        assert.equal(await recipients.targetDisabled('dom_a', ORG), false);
        await s.db
          .insertInto('inbound_targets')
          .values(target('tgt_org', `organisation:${ORG}`, null, 7))
          .execute();
        assert.equal(await recipients.targetDisabled('dom_a', ORG), true);
        await s.db
          .insertInto('inbound_targets')
          .values(target('tgt_a', 'domain:dom_a', 'dom_a', null))
          .execute();
        assert.equal(await recipients.targetDisabled('dom_a', ORG), false);
        assert.equal(await recipients.targetDisabled('dom_b', ORG), true);
      });
    });

    test("credential: its validity and its domain's connector state", async () => {
      await withStore(engine, async (s) => {
        const recipients = sqlInboundRecipientStore(s.db);
        const row = { kind: 'inbound' as const, description: '', secret_hash: '', created_at: 1, last_used_at: null, last_used_ip: null, revoked_at: 3 };
        await s.db
          .insertInto('credentials')
          .values([
            { ...row, id: 'crd_1', username: 'in1', domain_id: 'dom_a' },
            { ...row, id: 'crd_2', username: 'in2', domain_id: null },
          ] as never)
          .execute();
        const one = await recipients.credential('crd_1');
        assert.deepEqual(one && { ...one, revokedAt: Number(one.revokedAt) }, {
          revokedAt: 3,
          expiresAt: null,
          retireAt: null,
          domainName: 'a.org',
          connectorState: 'connected',
        });
        const two = await recipients.credential('crd_2');
        assert.deepEqual([two?.domainName, two?.connectorState], [null, null]);
        assert.equal(await recipients.credential('crd_none'), undefined);
      });
    });
  });
}
