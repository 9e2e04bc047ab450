import { Client } from 'ldapts'; import fs from 'node:fs';
const ca = fs.readFileSync('/tmp/slapd-OsuAQs/ca.pem','utf8');
for (const o of [{ ca }, { ca, host: '127.0.0.1' }, { ca, servername: 'localhost' }]) {
const c = new Client({ url: 'ldap://127.0.0.1:38999', tlsOptions: { ca } });
try { await c.startTLS(o); console.log('ok', JSON.stringify(Object.keys(o))); await c.unbind(); } catch (e) { console.log('fail', Object.keys(o), e.message); }
}
