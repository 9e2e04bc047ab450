import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_ORGANISATION_ID } from '../../src/model/organisation.js';
import { sqlSecureSettingsStore } from '../../src/store/secure-settings/index.js';
import { storeEngines } from '../support/store-engines.js';

const actor = { name: 'contract', ip: null };
const ORG = DEFAULT_ORGANISATION_ID;

for (const engine of storeEngines()) {
  describe(`secure settings store on ${engine.name}`, engine.options, () => {
    test("an organisation's settings; none for an unknown organisation", async () => {
      const s = await engine.open();
      try {
        const store = sqlSecureSettingsStore(s.db);
        const settings = await store.settings(ORG);
        assert.equal(typeof settings?.retentionDays, 'number');
        assert.equal(typeof settings?.readReceipts, 'boolean');
        assert.equal(typeof settings?.neutralSubject, 'boolean');
        assert.equal(settings?.brandLogo, null);
        assert.equal(settings?.brandLogoType, null);
        assert.equal(await store.settings('no-such-org'), undefined);
      } finally {
        await s.dispose();
      }
    });

    test('an update changes only the fields given; the logo is set and removed with its type', async () => {
      const s = await engine.open();
      try {
        const store = sqlSecureSettingsStore(s.db);
        const before = await store.settings(ORG);
        const logo = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
        await store.change((tx) => tx.update(ORG, { retentionDays: 7, neutralSubject: !before?.neutralSubject, brandLogo: { content: logo, type: 'png' } }));
        const after = await store.settings(ORG);
        assert.equal(after?.retentionDays, 7);
        assert.equal(after?.neutralSubject, !before?.neutralSubject);
        assert.equal(after?.readReceipts, before?.readReceipts);
        assert.equal(after?.locale, before?.locale);
        assert.deepEqual(after?.brandLogo, logo);
        assert.equal(after?.brandLogoType, 'png');
        await store.change((tx) => tx.update(ORG, { brandName: 'Acme', readReceipts: true, readReceiptFormat: 'mdn', timeZone: 'Europe/Amsterdam' }));
        const named = await store.settings(ORG);
        assert.deepEqual([named?.brandName, named?.readReceipts, named?.readReceiptFormat, named?.timeZone], ['Acme', true, 'mdn', 'Europe/Amsterdam']);
        assert.deepEqual(named?.brandLogo, logo);
        await store.change((tx) => tx.update(ORG, { brandLogo: null, brandName: null }));
        const removed = await store.settings(ORG);
        assert.equal(removed?.brandLogo, null);
        assert.equal(removed?.brandLogoType, null);
        assert.equal(removed?.brandName, null);
        assert.equal(removed?.retentionDays, 7);
      } finally {
        await s.dispose();
      }
    });

    test('a change that throws rolls back the update and its audit record', async () => {
      const s = await engine.open();
      try {
        const store = sqlSecureSettingsStore(s.db);
        const before = await store.settings(ORG);
        await assert.rejects(
          store.change(async (tx) => {
            await tx.update(ORG, { retentionDays: 3 });
            await tx.audit(actor, { action: 'secure.settings.update', targetType: 'organisation', targetId: ORG, detail: {} }, 1);
            throw new Error('boom');
          }),
          /boom/,
        );
        assert.equal((await store.settings(ORG))?.retentionDays, before?.retentionDays);
        assert.equal((await s.db.selectFrom('audit_log').selectAll().execute()).length, 0);
        await store.change((tx) => tx.audit(actor, { action: 'secure.settings.update', targetType: 'organisation', targetId: ORG }, 2));
        assert.equal((await s.db.selectFrom('audit_log').selectAll().execute()).length, 1);
      } finally {
        await s.dispose();
      }
    });
  });
}
