import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { lookUpInboundRecipient } from '../src/directory/inbound-recipients.js';
import { addressOwner } from '../src/directory/verified-senders.js';
import { sqlAddressStore } from '../src/store/addresses/index.js';
import { sqlInboundRecipientStore } from '../src/store/inbound-recipients/index.js';
import { verifiedDomain } from './support/directory.js';
import { startDnsServer, type TestDnsServer } from './support/dns-server.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';

type Json = Record<string, unknown>;
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/**
 * The request sequence Entra ID's provisioning service sends, replayed from Microsoft's documented
 * examples ("Tutorial: Develop a sample SCIM endpoint", user operations): look the user up by
 * userName, create it, read it, patch it (Replace with capitalised op names, a typed email path,
 * active false to disable), delete it.
 */
describe('SCIM 2.0 provisioning of addresses', () => {
  let dns: TestDnsServer;
  let gw: TestGateway;
  let admin: string;
  let scimToken: string;
  const scim = async (path: string, init: { method?: string; body?: unknown; token?: string } = {}) => {
    const response = await fetch(`http://127.0.0.1:${gw.gateway.ports.http}/scim/v2${path}`, {
      method: init.method ?? 'GET',
      headers: {
        authorization: `Bearer ${init.token ?? scimToken}`,
        ...(init.body !== undefined ? { 'content-type': 'application/scim+json' } : {}),
      },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : undefined) as Json, text };
  };
  const assertScimError = (response: { status: number; body: Json; headers: Headers }, status: number, scimType: string | undefined, detail: RegExp) => {
    assert.equal(response.status, status, JSON.stringify(response.body));
    assert.match(response.headers.get('content-type') ?? '', /^application\/scim\+json/);
    assert.deepEqual(response.body.schemas, [ERROR]);
    assert.equal(response.body.status, String(status));
    assert.equal(response.body.scimType, scimType);
    assert.match(response.body.detail as string, detail);
  };
  const audit = async (action: string) =>
    ((await gw.api(`/api/v1/audit?action=${action}`, { token: admin })).body as { items: { targetId: string; actor: string; detail: Json }[] }).items;

  before(async () => {
    dns = await startDnsServer();
    gw = await startTestGateway({ dnsResolver: dns.address });
    admin = await gw.createApiToken('admin');
    scimToken = await gw.createApiToken('Entra ID provisioning', 'scim');
    await verifiedDomain(gw, dns, admin, 'secure.example.com');
  });
  after(async () => {
    await gw?.stop();
    await dns?.stop();
  });

  test('its own tokens: no token or an admin token opens nothing here, and a SCIM token nothing under /api/v1', async () => {
    assertScimError(await scim('/Users', { token: '' }), 401, undefined, /relaygate token create --scope scim/);
    assertScimError(await scim('/Users', { token: admin }), 401, undefined, /not a valid SCIM token/);
    assert.equal((await gw.api('/api/v1/addresses', { token: scimToken })).status, 401);
    const config = await scim('/ServiceProviderConfig');
    assert.equal(config.status, 200);
    assert.deepEqual((config.body.patch as Json).supported, true);
    const types = await scim('/ResourceTypes');
    assert.deepEqual(
      (types.body.Resources as Json[]).map((r) => r.endpoint),
      ['/Users', '/Groups'],
    );
    const schemas = await scim('/Schemas');
    assert.equal((schemas.body.Resources as Json[])[0]?.id, 'urn:ietf:params:scim:schemas:core:2.0:User');
  });

  test("Entra ID's user sequence: lookup, create, read, patch, disable (suspends), enable, delete; each change audited", async () => {
    const userName = 'customerservice@example.com';
    const lookup = await scim(`/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);
    assert.equal(lookup.status, 200, lookup.text);
    assert.deepEqual(lookup.body, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
      totalResults: 0,
      startIndex: 1,
      itemsPerPage: 0,
      Resources: [],
    });

    const created = await scim('/Users', {
      method: 'POST',
      body: {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
        externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
        userName,
        active: true,
        emails: [
          { primary: true, type: 'work', value: userName },
          { type: 'other', value: 'smtp:customerservice@secure.example.com' },
        ],
        meta: { resourceType: 'User' },
        name: { formatted: 'Customer Service', familyName: 'Service', givenName: 'Customer' },
        roles: [],
      },
    });
    assert.equal(created.status, 201, created.text);
    const id = created.body.id as string;
    assert.equal(created.headers.get('location'), `http://127.0.0.1:${gw.gateway.ports.http}/scim/v2/Users/${id}`);
    assert.deepEqual(
      { userName: created.body.userName, displayName: created.body.displayName, active: created.body.active, externalId: created.body.externalId },
      { userName, displayName: 'Customer Service', active: true, externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef' },
    );
    assert.deepEqual(
      (created.body.emails as Json[]).map((e) => e.value),
      [userName, 'customerservice@secure.example.com'],
    );
    // The same address in the admin API, marked as synced.
    const shown = (await gw.api(`/api/v1/addresses/${userName}`, { token: admin })).body as Json;
    assert.deepEqual({ source: shown.source, aliases: shown.aliases }, { source: 'scim', aliases: ['customerservice@secure.example.com'] });

    assert.deepEqual((await scim(`/Users/${id}`)).body, created.body);
    const found = await scim(`/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);
    assert.deepEqual(found.body.Resources, [created.body]);
    const byExternal = await scim(`/Users?filter=${encodeURIComponent('externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"')}`);
    assert.equal(byExternal.body.totalResults, 1);

    const patched = await scim(`/Users/${id}`, {
      method: 'PATCH',
      body: {
        schemas: [PATCH],
        Operations: [
          { op: 'Replace', path: 'displayName', value: 'Customer Service (EU)' },
          { op: 'Add', path: 'emails[type eq "work"].value', value: 'help@example.com' },
          { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
        ],
      },
    });
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.body.displayName, 'Customer Service (EU)');
    assert.deepEqual(
      (patched.body.emails as Json[]).map((e) => e.value),
      [userName, 'customerservice@secure.example.com', 'help@example.com'],
    );
    const removed = await scim(`/Users/${id}`, {
      method: 'PATCH',
      body: { schemas: [PATCH], Operations: [{ op: 'Remove', path: 'emails[value eq "help@example.com"]' }] },
    });
    assert.deepEqual(
      (removed.body.emails as Json[]).map((e) => e.value),
      [userName, 'customerservice@secure.example.com'],
    );

    assert.ok(await gw.db((db) => addressOwner(sqlAddressStore(db), userName)));
    // Entra ID sends active as a string in some tenants ("False"), Okta as a value object without a path.
    const disabled = await scim(`/Users/${id}`, {
      method: 'PATCH',
      body: { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] },
    });
    assert.equal(disabled.body.active, false, disabled.text);
    assert.equal(await gw.db((db) => addressOwner(sqlAddressStore(db), userName)), undefined, 'a suspended address owns no mail');
    assert.equal(await gw.db((db) => addressOwner(sqlAddressStore(db), 'customerservice@secure.example.com')), undefined, 'nor do its aliases');
    assert.equal((await gw.db((db) => lookUpInboundRecipient(sqlInboundRecipientStore(db), userName))).kind, 'unknown-address', 'nor receives any');
    const enabled = await scim(`/Users/${id}`, { method: 'PATCH', body: { schemas: [PATCH], Operations: [{ op: 'replace', value: { active: true } }] } });
    assert.equal(enabled.body.active, true);
    assert.ok(await gw.db((db) => addressOwner(sqlAddressStore(db), userName)));
    assert.equal((await gw.db((db) => lookUpInboundRecipient(sqlInboundRecipientStore(db), userName))).kind, 'known');

    const deleted = await scim(`/Users/${id}`, { method: 'DELETE' });
    assert.equal(deleted.status, 204);
    assertScimError(await scim(`/Users/${id}`), 404, undefined, /no scim user/);
    assert.equal((await gw.api(`/api/v1/addresses/${userName}`, { token: admin })).status, 404);

    for (const action of ['address.sync_add', 'address.sync_update', 'address.suspend', 'address.resume', 'address.sync_remove']) {
      const records = await audit(action);
      assert.equal(records.length >= 1, true, `audited: ${action}`);
      assert.equal(records[0]?.targetId, userName);
      assert.match(records[0]?.actor ?? '', /^scim:tok_\w+ \(Entra ID provisioning\)$/);
    }
  });

  test('a manual address is never taken, changed or removed by the sync, and cannot be edited as a synced one by hand either', async () => {
    const manual = await gw.api('/api/v1/addresses', {
      method: 'POST',
      token: admin,
      body: { address: 'billing@example.com', kind: 'functional', aliases: ['billing@secure.example.com'] },
    });
    assert.equal(manual.status, 201, manual.text);
    assertScimError(
      await scim('/Users', { method: 'POST', body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'billing@example.com' } }),
      409,
      'uniqueness',
      /billing@example\.com is a manual address .*a sync never changes it/,
    );
    assertScimError(
      await scim('/Users', {
        method: 'POST',
        body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'accounts@example.com', emails: [{ value: 'billing@secure.example.com' }] },
      }),
      409,
      'uniqueness',
      /billing@secure\.example\.com is already an alias of billing@example\.com/,
    );
    // Nothing was kept of the refused user, and the manual address is as it was.
    assert.equal((await scim('/Users?filter=userName%20eq%20%22accounts@example.com%22')).body.totalResults, 0);
    assert.deepEqual(((await gw.api('/api/v1/addresses/billing@example.com', { token: admin })).body as Json).source, 'manual');
    // A manual address is not a SCIM user: it cannot be read, patched or deleted through /scim/v2.
    const manualId = (manual.body as Json).id as string;
    assertScimError(await scim(`/Users/${manualId}`, { method: 'DELETE' }), 404, undefined, /no scim user/);

    const synced = await scim('/Users', { method: 'POST', body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'orders@example.com' } });
    assert.equal(synced.status, 201, synced.text);
    const handEdit = await gw.api('/api/v1/addresses/orders@example.com', { method: 'DELETE', token: admin });
    assert.equal(handEdit.status, 409, handEdit.text);
    assert.match((handEdit.body as Json).detail as string, /synced from the organisation's directory \(scim\): change it there/);
  });

  test('addresses outside the claimed domains, bad filters and bad values: SCIM errors naming the value', async () => {
    assertScimError(
      await scim('/Users', { method: 'POST', body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'someone@unclaimed.example' } }),
      400,
      'invalidValue',
      /userName: "someone@unclaimed\.example" is not in a domain of this organisation/,
    );
    assertScimError(
      await scim('/Users', {
        method: 'POST',
        body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'ok@example.com', emails: [{ value: 'alias@unclaimed.example' }] },
      }),
      400,
      'invalidValue',
      /emails\.0: "alias@unclaimed\.example" is not in a domain/,
    );
    assertScimError(await scim(`/Users?filter=${encodeURIComponent('userName sw "a"')}`), 400, 'invalidFilter', /filter "userName sw "a"" is not supported/);
    assertScimError(await scim(`/Users?filter=${encodeURIComponent('title eq "x"')}`), 400, 'invalidFilter', /filtering on title/);
    assertScimError(await scim('/Users?count=x'), 400, 'invalidValue', /count must be an integer/);
    const bad = await fetch(`http://127.0.0.1:${gw.gateway.ports.http}/scim/v2/Users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${scimToken}`, 'content-type': 'application/scim+json' },
      body: '{not json',
    });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as Json).scimType, 'invalidSyntax');
  });

  test('ETags: a change from a stale read (If-Match) is refused with 412 and changes nothing', async () => {
    const created = await scim('/Users', { method: 'POST', body: { schemas: [], userName: 'etag@example.com', displayName: 'first' } });
    const id = created.body.id as string;
    const etag = created.headers.get('etag') ?? '';
    assert.match(etag, /^W\/"[\w-]+"$/);
    assert.equal((created.body.meta as Json).version, etag);
    const rename = (name: string, ifMatch: string) =>
      fetch(`http://127.0.0.1:${gw.gateway.ports.http}/scim/v2/Users/${id}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${scimToken}`, 'content-type': 'application/scim+json', 'if-match': ifMatch },
        body: JSON.stringify({ schemas: [PATCH], Operations: [{ op: 'replace', path: 'displayName', value: name }] }),
      });
    const first = await rename('second', etag);
    assert.equal(first.status, 200);
    assert.notEqual(first.headers.get('etag'), etag);
    const stale = await rename('third', etag);
    assert.equal(stale.status, 412);
    assert.match(((await stale.json()) as Json).detail as string, /changed since the version in If-Match/);
    assert.equal((await scim(`/Users/${id}`)).body.displayName, 'second');
  });

  test('pagination: startIndex and count as RFC 7644 §3.4.2.4 has them', async () => {
    for (const name of ['p1', 'p2', 'p3'])
      assert.equal((await scim('/Users', { method: 'POST', body: { schemas: [], userName: `${name}@example.test` } })).status, 201);
    const all = (await scim('/Users?count=100')).body;
    const page = (await scim('/Users?startIndex=2&count=2')).body;
    assert.equal(page.totalResults, all.totalResults);
    assert.equal(page.startIndex, 2);
    assert.equal(page.itemsPerPage, 2);
    assert.deepEqual(
      (page.Resources as Json[]).map((r) => r.userName),
      (all.Resources as Json[]).slice(1, 3).map((r) => r.userName),
    );
  });
});

describe('SCIM: the secure subdomain alias by a per-domain rule (directorySync.aliasDomains)', () => {
  let dns: TestDnsServer;
  let gw: TestGateway;
  before(async () => {
    dns = await startDnsServer();
    gw = await startTestGateway({ dnsResolver: dns.address, 'directorySync.aliasDomains': 'example.com=secure.example.com' });
    await verifiedDomain(gw, dns, await gw.createApiToken('admin'), 'secure.example.com');
  });
  after(async () => {
    await gw?.stop();
    await dns?.stop();
  });

  test('customerservice@example.com from the directory also gets customerservice@secure.example.com, and keeps it through a PATCH of its emails', async () => {
    const token = await gw.createApiToken('Entra ID', 'scim');
    const call = async (path: string, method: string, body: unknown) => {
      const response = await fetch(`http://127.0.0.1:${gw.gateway.ports.http}/scim/v2${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
        body: JSON.stringify(body),
      });
      return (await response.json()) as Json;
    };
    const emails = (user: Json) => (user.emails as Json[]).map((e) => e.value);
    const created = await call('/Users', 'POST', { schemas: [], userName: 'customerservice@example.com' });
    assert.deepEqual(emails(created), ['customerservice@example.com', 'customerservice@secure.example.com']);
    const replaced = await call(`/Users/${created.id}`, 'PATCH', {
      schemas: [PATCH],
      Operations: [{ op: 'replace', path: 'emails', value: [{ value: 'help@example.com' }] }],
    });
    assert.deepEqual(emails(replaced), ['customerservice@example.com', 'customerservice@secure.example.com', 'help@example.com']);
  });
});
