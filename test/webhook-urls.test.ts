import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertProblem } from './support/directory.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { gatewayEnv, runCli } from './support/gateway-process.js';

/** What every refused address ends with: the one way an operator can allow it. */
const HINT = 'a webhook must be on a public address (inbound.allowPrivateWebhooks allows private ones, for tests and closed networks)';
const address = (host: string, why: string) => `${host} is ${why}; ${HINT}`;

type Case = { url: string; problem: string; kind: 'address' | 'shape' };

// Webhook URLs judged when they are set (issue 19, point 7). `address` cases are allowed by
// inbound.allowPrivateWebhooks; `shape` cases are refused whatever the flag says.
const cases: Case[] = [
  // Loopback, the gateway itself.
  { url: 'https://127.0.0.1/hook', kind: 'address', problem: address('127.0.0.1', 'loopback (127.0.0.0/8)') },
  // The whole of 127/8 is loopback, not only .1.
  { url: 'https://127.200.0.9:8443/hook', kind: 'address', problem: address('127.200.0.9', 'loopback (127.0.0.0/8)') },
  // The decimal form, which the WHATWG URL parser turns into 127.0.0.1.
  { url: 'https://2130706433/', kind: 'address', problem: address('127.0.0.1', 'loopback (127.0.0.0/8)') },
  // The hex and shortened form 0x7f.1.
  { url: 'https://0x7f.1/', kind: 'address', problem: address('127.0.0.1', 'loopback (127.0.0.0/8)') },
  // The octal form 0177.0.0.1.
  { url: 'https://0177.0.0.1/', kind: 'address', problem: address('127.0.0.1', 'loopback (127.0.0.0/8)') },
  // IPv6 loopback.
  { url: 'https://[::1]/hook', kind: 'address', problem: address('::1', 'loopback (::1)') },
  // localhost, whatever a resolver would answer for it (RFC 6761 §6.3).
  { url: 'https://localhost:8443/hook', kind: 'address', problem: `localhost is a loopback name (RFC 6761 §6.3); ${HINT}` },
  // Every name under .localhost, in any case, with the root dot.
  { url: 'https://App.LocalHost./hook', kind: 'address', problem: `app.localhost. is a loopback name (RFC 6761 §6.3); ${HINT}` },
  // Link-local, where cloud metadata services answer.
  {
    url: 'https://169.254.169.254/latest/meta-data',
    kind: 'address',
    problem: address('169.254.169.254', 'link-local, where cloud metadata services live (169.254.0.0/16, RFC 3927)'),
  },
  // IPv6 link-local.
  { url: 'https://[fe80::1]/', kind: 'address', problem: address('fe80::1', 'link-local (fe80::/10)') },
  // The three RFC 1918 private ranges.
  { url: 'https://10.1.2.3/', kind: 'address', problem: address('10.1.2.3', 'private (10.0.0.0/8, RFC 1918)') },
  { url: 'https://172.20.0.5/', kind: 'address', problem: address('172.20.0.5', 'private (172.16.0.0/12, RFC 1918)') },
  { url: 'https://192.168.0.10/', kind: 'address', problem: address('192.168.0.10', 'private (192.168.0.0/16, RFC 1918)') },
  // Unique-local IPv6, the IPv6 private range.
  { url: 'https://[fd00::5]/', kind: 'address', problem: address('fd00::5', 'unique local (fc00::/7, RFC 4193)') },
  // CGNAT shared address space.
  { url: 'https://100.64.0.1/', kind: 'address', problem: address('100.64.0.1', 'shared address space, carrier-grade NAT (100.64.0.0/10, RFC 6598)') },
  // Unspecified, which a socket dials as the local host.
  { url: 'https://0.0.0.0/', kind: 'address', problem: address('0.0.0.0', 'unspecified (0.0.0.0)') },
  { url: 'https://[::]/', kind: 'address', problem: address('::', 'unspecified (::)') },
  // IPv4-mapped IPv6 of loopback, written dotted; the parser shows it in hex.
  {
    url: 'https://[::ffff:127.0.0.1]/',
    kind: 'address',
    problem: address('::ffff:7f00:1', 'the IPv4-mapped form of 127.0.0.1, which is loopback (127.0.0.0/8)'),
  },
  // The same, written in hex.
  { url: 'https://[::ffff:7f00:1]/', kind: 'address', problem: address('::ffff:7f00:1', 'the IPv4-mapped form of 127.0.0.1, which is loopback (127.0.0.0/8)') },
  // Mapped even when the IPv4 address is public: the address itself is asked for.
  {
    url: 'https://[::ffff:8.8.8.8]/',
    kind: 'address',
    problem: address('::ffff:808:808', 'IPv4-mapped (::ffff:0:0/96, RFC 4291 §2.5.5.2): write 8.8.8.8 itself'),
  },
  // Multicast, broadcast and documentation ranges from the IANA special-purpose registries.
  { url: 'https://224.0.0.251/', kind: 'address', problem: address('224.0.0.251', 'multicast (224.0.0.0/4)') },
  { url: 'https://255.255.255.255/', kind: 'address', problem: address('255.255.255.255', 'broadcast (255.255.255.255)') },
  { url: 'https://198.51.100.7/', kind: 'address', problem: address('198.51.100.7', 'documentation (198.51.100.0/24, RFC 5737)') },
  { url: 'https://[2001:db8::7]/', kind: 'address', problem: address('2001:db8::7', 'documentation (2001:db8::/32, RFC 3849)') },
  // Plain http: the payload is the customer's mail.
  {
    url: 'http://hooks.example.test/mail',
    kind: 'address',
    problem: 'the scheme must be https, not http (http only with inbound.allowPrivateWebhooks, for tests and closed networks)',
  },
  // Any other scheme, with or without the flag.
  { url: 'ftp://hooks.example.test/mail', kind: 'shape', problem: 'the scheme must be https, not ftp' },
  // Credentials in the URL would be logged and sent; the requests are signed instead.
  { url: 'https://app:pw@hooks.example.test/mail', kind: 'shape', problem: 'the URL must not carry a user name or password; the requests are signed instead' },
  // A fragment is never sent to the server.
  { url: 'https://hooks.example.test/mail#tickets', kind: 'shape', problem: 'the URL must not have a fragment (#…): it is never sent to the server' },
];

/** The flag's own message for a scheme differs: with it, http is one of the two allowed. */
const withFlag = (c: Case) => (c.url.startsWith('ftp:') ? 'the scheme must be https or http, not ftp' : c.problem);

describe('webhook URLs are checked when a target is set', () => {
  let strict: TestGateway;
  let lenient: TestGateway;
  let strictToken: string;
  let lenientToken: string;

  before(async () => {
    strict = await startTestGateway();
    lenient = await startTestGateway({ 'inbound.allowPrivateWebhooks': true });
    strictToken = await strict.createApiToken('webhook urls');
    lenientToken = await lenient.createApiToken('webhook urls');
  });
  after(async () => {
    await strict.stop();
    await lenient.stop();
  });

  const put = (gw: TestGateway, token: string, url: string) =>
    gw.api('/api/v1/inbound-targets/organisation', { method: 'PUT', token, body: { kind: 'webhook', url } });

  test('the API refuses each address class and malformed URL with 422, naming the url field; nothing is stored', async () => {
    for (const c of cases) {
      assertProblem(await put(strict, strictToken, c.url), 422, `webhook URL refused: ${c.problem}`, 'url');
      // The domain's own target is checked the same way.
      assertProblem(
        await strict.api('/api/v1/domains/example.com/inbound-target', { method: 'PUT', token: strictToken, body: { kind: 'webhook', url: c.url } }),
        422,
        `webhook URL refused: ${c.problem}`,
        'url',
      );
    }
    assert.deepEqual((await strict.api('/api/v1/inbound-targets', { token: strictToken })).body, { items: [] });
  });

  test('the CLI refuses each of them with exit 1, the reason and the flag', { timeout: 900_000 }, async () => {
    const env = gatewayEnv(strict.dataDir);
    for (const c of cases) {
      const refused = await runCli(['inbound', 'set', '--webhook', c.url], env);
      assert.deepEqual([refused.code, refused.stdout, refused.stderr], [1, '', `relaygate: webhook URL refused: ${c.problem} (--webhook)\n`], c.url);
    }
  });

  test('a public address, or a name (judged by its addresses at each delivery), is taken', async () => {
    for (const url of ['https://8.8.8.8/hook', 'https://[2606:4700::1111]/hook', 'https://hooks.example.test/mail?tenant=7']) {
      const set = await put(strict, strictToken, url);
      assert.equal(set.status, 200, set.text);
      assert.equal((set.body as { url: string }).url, new URL(url).href);
    }
  });

  test('inbound.allowPrivateWebhooks lets every address class through, over the API and the CLI; the malformed stay refused', {
    timeout: 600_000,
  }, async () => {
    for (const c of cases) {
      const set = await put(lenient, lenientToken, c.url);
      if (c.kind === 'address') {
        assert.equal(set.status, 200, `${c.url}: ${set.text}`);
        assert.equal((set.body as { url: string }).url, new URL(c.url).href);
      } else assertProblem(set, 422, `webhook URL refused: ${withFlag(c)}`, 'url');
    }
    const env = { ...gatewayEnv(lenient.dataDir), RELAYGATE_INBOUND_ALLOW_PRIVATE_WEBHOOKS: 'true' };
    for (const url of ['https://127.0.0.1:8443/hook', 'http://localhost:8080/hook', 'https://[::ffff:7f00:1]/']) {
      const taken = await runCli(['inbound', 'set', '--webhook', url, '--json'], env);
      assert.equal(taken.code, 0, taken.stderr);
      assert.equal((JSON.parse(taken.stdout) as { url: string }).url, new URL(url).href);
    }
    const fragment = await runCli(['inbound', 'set', '--webhook', 'https://127.0.0.1/#x'], env);
    assert.equal(fragment.stderr, 'relaygate: webhook URL refused: the URL must not have a fragment (#…): it is never sent to the server (--webhook)\n');
  });
});
