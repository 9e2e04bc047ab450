import { randomBytes } from 'node:crypto';
import type { Config } from '../config/schema.js';
import type { Courier } from '../delivery/courier.js';
import type { TlsRequirementSource } from '../delivery/mx-courier.js';
import type { NextHop } from '../delivery/outbound-courier.js';
import type { InboundTargetDirectory, RoutableTarget } from '../directory/inbound-targets.js';
import type { WebhookClient } from '../inbound/webhook-client.js';
import type { RelayFacts } from '../inbound/webhook-payload.js';
import type { Clock } from '../lib/clock.js';
import { headerFields } from '../pipeline/header-from.js';
import { VERIFICATION_HEADER } from '../pipeline/verification-header.js';
import type { RouteTables } from '../policy/route-policy.js';
import type { SealedCopies } from '../secure/sealed-captures.js';
import { captureCourier } from './capture-courier.js';
import { type SandboxMailbox, sandboxMailbox } from './mailbox.js';
import type { SandboxStore } from './sandbox-store.js';

/** The URL of the built-in capture endpoint: not a network address, so nothing can ever dial it. */
export const SANDBOX_WEBHOOK_URL = 'sandbox:capture';

/**
 * Whether this gateway runs in the sandbox: `sandbox: true`, or `auto` (the default) with no
 * way configured for mail to leave — no global smarthost and no outbound connection — so a
 * first start on a laptop captures instead of trying the internet.
 */
export async function sandboxEnabled(config: Pick<Config, 'sandbox' | 'smarthost'>, store: Pick<SandboxStore, 'anyConnection'>): Promise<boolean> {
  if (config.sandbox !== 'auto') return config.sandbox;
  if (config.smarthost) return false;
  return !(await store.anyConnection());
}

export interface GatewaySandbox {
  mailbox: SandboxMailbox;
  /** The end of every outbound path: captured, never sent. */
  nextHop(hop: NextHop): Courier;
  /** Inbound mail with no target goes to the built-in capture endpoint instead of waiting. */
  targets(targets: Pick<InboundTargetDirectory, 'forDomain'>): Pick<InboundTargetDirectory, 'forDomain'>;
  /** Posts to the built-in endpoint are captured; real targets still get theirs. */
  webhookClient(client: WebhookClient): WebhookClient;
}

export interface SandboxDeps {
  store: SandboxStore;
  /** The default organisation's routes, for the route a capture names. */
  routeTable(): ReturnType<RouteTables['tableOf']>;
  dataDir: string;
  clock: Clock;
  requirements: TlsRequirementSource;
  /** The connector's check for a returning verification token. */
  verificationArrived(token: string, relay: RelayFacts): Promise<boolean>;
  /** Captures of sealed bodies are kept sealed. */
  sealing: SealedCopies;
}

/**
 * The sandbox: the whole gateway runs, and only the last step changes. Outbound mail is kept
 * in the sandbox mailbox with the decision that would have sent it; a verification mail is
 * handed straight back as the organisation's server would relay it, so both legs verify
 * inside the sandbox.
 */
export function gatewaySandbox(deps: SandboxDeps): GatewaySandbox {
  const mailbox = sandboxMailbox({ sandbox: deps.store }, { dataDir: deps.dataDir, sealing: deps.sealing });
  const builtIn: RoutableTarget = {
    id: 'sandbox-capture',
    domain: null,
    kind: 'webhook',
    url: SANDBOX_WEBHOOK_URL,
    forwardTo: null,
    synchronous: false,
    previousSecretUntil: null,
    disabledAt: null,
    disabledReason: null,
    createdAt: 0,
    updatedAt: 0,
    secrets: [`whsec_${randomBytes(24).toString('base64')}`],
  };

  async function loopBack(raw: Buffer, recipients: string[]): Promise<void> {
    const end = raw.indexOf('\r\n\r\n');
    const token = headerFields(raw.subarray(0, end === -1 ? raw.length : end))
      .find((f) => f.name.toLowerCase() === VERIFICATION_HEADER.toLowerCase())
      ?.value.trim();
    if (!token) return;
    const domain = (recipients[0] ?? '').slice((recipients[0] ?? '').lastIndexOf('@') + 1).toLowerCase();
    await deps.verificationArrived(token, await organisationRelay(deps.store, domain));
  }

  return {
    mailbox,
    nextHop: (hop) => captureCourier({ ...deps, mailbox, captured: (raw, message) => loopBack(raw, message.recipients) }, hop),
    targets: (targets) => ({ forDomain: async (domainId) => (await targets.forDomain(domainId)) ?? builtIn }),
    webhookClient: (client) => ({
      async post(request) {
        if (request.url !== SANDBOX_WEBHOOK_URL) return client.post(request);
        const payload = JSON.parse(request.body) as { queueId?: string; subject?: string | null; envelope?: { mailFrom: string; recipients: string[] } };
        await mailbox.capture({
          kind: 'webhook',
          queueId: payload.queueId ?? '',
          mailFrom: payload.envelope?.mailFrom ?? '',
          recipients: payload.envelope?.recipients ?? [],
          subject: payload.subject ?? null,
          decision: { route: 'inbound', nextHop: 'the built-in capture endpoint (no inbound target is set)', tls: 'not applicable' },
          dkim: [],
          raw: Buffer.from(`${JSON.stringify({ headers: request.headers, payload }, null, 2)}\n`),
          now: deps.clock.now(),
        });
        return { kind: 'answered', status: 200, body: 'captured in the sandbox', ms: 0 };
      },
      close: () => client.close(),
    }),
  };
}

/**
 * How the organisation's server would relay a message back: authenticated with the domain's
 * newest live inbound credential, over TLS. Without such a credential the facts say so, and
 * the inbound check fails for the reason it would fail in production.
 */
export async function organisationRelay(store: Pick<SandboxStore, 'newestInboundCredential'>, domain: string): Promise<RelayFacts> {
  const credential = await store.newestInboundCredential(domain);
  return {
    authenticated: credential !== undefined,
    credentialId: credential ?? null,
    domain,
    clientIp: '127.0.0.1',
    tlsVersion: credential ? 'TLSv1.3 (sandbox loopback)' : null,
    tlsCipher: null,
  };
}
