import { makeTestCa, makeLeafCert } from '../test/support/certs.ts';
import { startSlapd, person, SERVICE_DN, SERVICE_PASSWORD, PEOPLE_DN } from '../test/support/slapd.ts';
import { Client } from 'ldapts';
import { mkdtempSync } from 'node:fs';
const ca = await makeTestCa(); const leaf = await makeLeafCert(ca, ['localhost']);
const dir = mkdtempSync('/tmp/slapd-');
const s = await startSlapd(dir, ca, leaf);
console.log('started');
await s.add(person('alice', { mail: 'alice@example.com', proxyAddresses: ['SMTP:alice@example.com','smtp:a@example.com'], userAccountControl: '512' }));
console.log('added');
for (const url of [s.ldapUrl, s.ldapsUrl, s.ldapUrl]) {
  try {
  const c = new Client({ url, tlsOptions: { ca: ca.caCert } });
  if (url.startsWith('ldap:')) await c.startTLS({ ca: ca.caCert });
  console.log('tls', url);
  await c.bind(SERVICE_DN, SERVICE_PASSWORD);
  for await (const page of c.searchPaginated(PEOPLE_DN, { scope: 'sub', filter: '(mail=*)', attributes: ['mail','proxyAddresses','entryUUID','cn','userAccountControl'], paged: { pageSize: 100 } })) console.log(url, JSON.stringify(page.searchEntries));
  await c.unbind();
  } catch (e) { console.log(url, e); }
}
await s.stop();
