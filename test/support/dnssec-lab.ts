/**
 * The shared DNSSEC lab (a validating Unbound in front of NSD serving zones it signs itself,
 * all on loopback; see its README). Each test file runs its own lab: its own state directory
 * and addresses, so that labs of parallel test files never meet.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface DnssecLab {
  /** host:port of the validating resolver, for the gateway's `dnsResolver`. */
  resolver: string;
  stop(): Promise<void>;
}

export interface DnssecLabOptions {
  /** A directory of `<zone>.zone` files; a `; dnssec-lab: MODE` line in a file sets its mode. */
  zonesDir: string;
  stateDir: string;
  /** Loopback addresses no other lab uses. */
  resolverAddress: string;
  authAddress: string;
}

/** Beside the checkout (../shared/dnssec-lab), wherever the checkout is; RELAYGATE_DNSSEC_LAB overrides it. */
export function dnssecLabPath(): string {
  return process.env.RELAYGATE_DNSSEC_LAB ?? resolve(fileURLToPath(import.meta.url), '../../../../shared/dnssec-lab');
}

/** The lab, or why it cannot run here (the caller's tests skip with that reason, or fail: skipWithoutPeer). */
export async function startDnssecLab(o: DnssecLabOptions): Promise<DnssecLab | { skip: string }> {
  const lab = dnssecLabPath();
  if (!existsSync(join(lab, 'start.sh'))) return { skip: `no DNSSEC lab at ${lab} (set RELAYGATE_DNSSEC_LAB)` };
  const env = {
    ...process.env,
    DNSSEC_LAB_STATE_DIR: o.stateDir,
    DNSSEC_LAB_RESOLVER_ADDR: o.resolverAddress,
    DNSSEC_LAB_AUTH_ADDR: o.authAddress,
  };
  const run = (script: string, args: string[]) =>
    new Promise<string>((resolve, reject) => {
      execFile('bash', [join(lab, script), ...args], { env, encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${script} failed: ${err.message}\n${stderr}`)) : resolve(stdout.trim()),
      );
    });
  let resolver: string;
  try {
    resolver = await run('start.sh', [o.zonesDir]);
  } catch (err) {
    return { skip: `the DNSSEC lab did not start: ${(err as Error).message.split('\n').slice(0, 6).join(' | ')}` };
  }
  let stopping: Promise<void> | undefined;
  return {
    resolver,
    stop() {
      stopping ??= run('stop.sh', []).then(() => undefined);
      return stopping;
    },
  };
}
