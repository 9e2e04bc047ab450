import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { insecureForSignIn, isLoopbackHost } from '../src/lib/sign-in-url.js';
import { gatewayEnv, spawnGateway } from './support/gateway-process.js';
import { tempDir } from './support/temp-dir.js';
import { waitFor } from './support/wait-for.js';

describe('insecureForSignIn: where Secure session cookies cannot be kept', () => {
  const cases: [string, boolean][] = [
    ['http://relay.example.com:8025', true],
    ['http://10.0.0.5:8025/', true],
    // The listen address when it is every interface: reached by others, over plain HTTP.
    ['http://0.0.0.0:8025', true],
    ['http://[::]:8025', true],
    ['http://[2001:db8::1]:8025', true],
    ['http://127.0.0.1:8025', false],
    ['http://127.8.9.10:8025', false],
    ['http://[::1]:8025', false],
    ['http://localhost:8025', false],
    ['http://console.localhost:8025', false],
    ['http://LOCALHOST.:8025', false],
    ['https://relay.example.com', false],
    ['https://10.0.0.5:8443', false],
    ['not a url', false],
  ];
  for (const [url, insecure] of cases) test(`${url}: ${insecure ? 'insecure' : 'fine'}`, () => assert.equal(insecureForSignIn(url), insecure));

  test('a loopback look-alike is not loopback', () => {
    assert.equal(isLoopbackHost('127.0.0.1.example.com'), false);
    assert.equal(isLoopbackHost('localhost.example.com'), false);
  });
});

/**
 * What a start said, up to its stop: the log lines come in order on one stream, so anything
 * logged at start is in by the time "relaygate stopped" is (the banner is another stream).
 */
async function startedWith(extra: Record<string, string>): Promise<string> {
  const dir = await tempDir();
  const gateway = await spawnGateway(gatewayEnv(dir.path, extra));
  try {
    await waitFor(() => /Relaygate is running/.test(gateway.output()), { what: 'the start banner' });
    gateway.child.kill('SIGTERM');
    await gateway.exited;
    // The last lines may be read from the pipe just after the exit.
    await waitFor(() => /"msg":"relaygate stopped"/.test(gateway.output()), { what: 'the last log line' });
    return gateway.output();
  } finally {
    gateway.child.kill('SIGTERM');
    await gateway.exited;
    await dir.cleanup();
  }
}

describe('relaygate start and a plain-HTTP public URL', () => {
  test('http:// on a host that is not loopback: a warning in the log and in the banner, with the fix', async () => {
    const output = await startedWith({ RELAYGATE_HTTP_PUBLIC_URL: 'http://relay.example.com:8025' });
    const logged = output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: number; event?: string; publicUrl?: string; msg: string })
      .find((entry) => entry.event === 'http.plain-http-sign-in');
    assert.ok(logged, `a warning was logged:\n${output}`);
    assert.equal(logged.level, 40, 'at warn level');
    assert.equal(logged.publicUrl, 'http://relay.example.com:8025');
    assert.match(logged.msg, /console and portal sign-in cannot work there, because their session cookies are Secure/);
    assert.match(logged.msg, /behind a TLS proxy and set RELAYGATE_HTTP_PUBLIC_URL \(http\.publicUrl\) to its https:\/\/ URL/);
    assert.match(output, /\n {2}WARNING: the public URL http:\/\/relay\.example\.com:8025 is plain HTTP on a host that is not loopback/);
  });

  // An https:// public URL is quiet too (the table above).
  test('the loopback listen address (no public URL) starts quietly', async () => {
    const output = await startedWith({});
    assert.doesNotMatch(output, /plain-http-sign-in|WARNING: the public URL/);
  });
});
