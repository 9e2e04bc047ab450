/**
 * Headless Chromium for the end-to-end portal tests: Debian's /usr/bin/chromium driven by
 * playwright-core. A browser is never downloaded; without the system one the test skips with
 * the reason, or fails under RELAYGATE_TEST_REQUIRE_PEERS=1 (needsPeer in peers.ts).
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. */
export function browserUnavailable(): string | undefined {
  return existsSync(CHROMIUM_PATH) ? undefined : `${CHROMIUM_PATH} is missing (apt-get install chromium); the browser tests need the system Chromium`;
}

/** `extraArgs` e.g. `--host-resolver-rules=MAP gateway.example 127.0.0.1`, to reach a loopback server under another name. */
export async function launchBrowser(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
  });
}
