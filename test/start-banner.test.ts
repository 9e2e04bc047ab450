/**
 * The start banner says where outgoing mail goes in each mode: an operator reading it must not
 * believe mail is sent when it waits, or captured when it leaves.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gatewayEnv, spawnGateway } from './support/gateway-process.js';
import { tempDir } from './support/temp-dir.js';
import { waitFor } from './support/wait-for.js';

async function bannerWith(extra: Record<string, string>): Promise<string> {
  const dir = await tempDir();
  const gateway = await spawnGateway(gatewayEnv(dir.path, { RELAYGATE_DNS_RESOLVER: '127.0.0.1:9', ...extra }));
  try {
    return await waitFor(() => (/Relaygate is running[\s\S]*\n\n/.test(gateway.output()) ? gateway.output() : undefined), { what: 'the start banner' });
  } finally {
    gateway.child.kill('SIGTERM');
    await gateway.exited;
    await dir.cleanup();
  }
}

test('the banner says where outgoing mail goes: the smarthost, the MX hosts, or nowhere yet', async () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ RELAYGATE_SMARTHOST: 'smtp://relay:s3cret@127.0.0.1:2600' }, /\n {2}Outgoing mail goes +to the smarthost smtp:\/\/relay:\*\*\*@127\.0\.0\.1:2600\n/],
    [
      { RELAYGATE_DELIVERY_DIRECT: 'true', RELAYGATE_DELIVERY_MX_PORT: '2525' },
      /\n {2}Outgoing mail goes +straight to each recipient domain's MX hosts on port 2525, under DANE, MTA-STS and the TLS policies \(no smarthost is set\)\n/,
    ],
    [
      {},
      /\n {2}Outgoing mail goes +nowhere yet: no smarthost is set and delivery\.direct is off, so accepted mail waits in the queue until RELAYGATE_SMARTHOST is set\n/,
    ],
  ];
  for (const [env, expected] of cases) {
    const banner = await bannerWith(env);
    assert.match(banner, expected, JSON.stringify(env));
    assert.doesNotMatch(banner, /s3cret/, 'the password never');
  }
});
