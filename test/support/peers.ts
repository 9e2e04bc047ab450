/**
 * The one way a test says it needs a real peer: Chromium, Postfix, PostgreSQL, the DNSSEC lab,
 * dkimpy, systemd-analyze, strace (with ptrace allowed), OpenLDAP's slapd (slapdUnavailable in
 * slapd.ts), or root (for mounts; a CI machine runs as root). Where the peer is
 * missing the test skips with the reason. Under RELAYGATE_TEST_REQUIRE_PEERS=1, which .ci/run
 * sets, it fails with that reason instead, so a green CI run has run every one of them.
 *
 * A test that concerns one store engine is not waiting for a peer: the other pass runs it
 * (onlyOn in test-database.ts).
 */
import type { TestContext } from 'node:test';

export const PEERS_REQUIRED = process.env.RELAYGATE_TEST_REQUIRE_PEERS === '1';

/**
 * Options for a test or a suite that needs a peer; `missing` is why it cannot run here,
 * undefined when it can. Spread them beside others: `{ ...needsPeer(reason), timeout }`.
 */
export function needsPeer(missing: string | undefined): { skip?: string; signal?: AbortSignal } {
  if (missing === undefined) return {};
  if (!PEERS_REQUIRED) return { skip: missing };
  // node:test fails a test or a suite whose signal is aborted before it starts, with the
  // signal's reason, and runs none of its body or hooks (Node 20 and 24 alike).
  const controller = new AbortController();
  controller.abort(peerMissing(missing));
  return { signal: controller.signal };
}

/**
 * Inside a test, for a peer found missing only once the suite tried it (a lab that did not
 * start, a mount refused): skips the test and returns true, or throws under the requirement.
 * `if (skipWithoutPeer(t, reason)) return;`
 */
export function skipWithoutPeer(t: TestContext, missing: string | undefined): boolean {
  if (missing === undefined) return false;
  if (PEERS_REQUIRED) throw peerMissing(missing);
  t.skip(missing);
  return true;
}

/**
 * For a check by a peer inside a test that runs without it (dkimpy beside mailauth): whether
 * to make the check; false leaves it out, and under the requirement this throws instead.
 */
export function peerAvailable(missing: string | undefined): boolean {
  if (missing === undefined) return true;
  if (PEERS_REQUIRED) throw peerMissing(missing);
  return false;
}

function peerMissing(missing: string): Error {
  const error = new Error(`${missing} (RELAYGATE_TEST_REQUIRE_PEERS=1: a missing peer fails the test instead of skipping it)`);
  // The stack would point here, which says nothing about the peer.
  error.stack = `Error: ${error.message}`;
  return error;
}
