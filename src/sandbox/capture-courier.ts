import type { Readable } from 'node:stream';
import PostalMime from 'postal-mime';
import { describeSmarthost } from '../config/smarthost-url.js';
import type { Courier, OutboundMessage } from '../delivery/courier.js';
import type { TlsRequirementSource } from '../delivery/mx-courier.js';
import type { NextHop } from '../delivery/outbound-courier.js';
import type { Clock } from '../lib/clock.js';
import type { DeliveryOutcome } from '../model/outcome.js';
import { decideRoute } from '../policy/route-match.js';
import type { RouteTables } from '../policy/route-policy.js';
import type { DkimVerdict, SandboxDecision, SandboxMailbox } from './mailbox.js';
import type { SandboxStore } from './sandbox-store.js';

/** The marker every captured message carries on top, so no copy of it is ever taken for mail that was sent. */
export const CAPTURE_HEADER = 'X-Relaygate-Sandbox';

export interface CaptureDeps {
  store: Pick<SandboxStore, 'dkimPublicRecord'>;
  /** The default organisation's routes, for the route a capture names. */
  routeTable(): ReturnType<RouteTables['tableOf']>;
  mailbox: SandboxMailbox;
  clock: Clock;
  /** The operator's per-domain TLS requirements, for what MX delivery would have demanded. */
  requirements: TlsRequirementSource;
  /** Called with each captured message; the sandbox hands verification mails back here. */
  captured?(raw: Buffer, message: OutboundMessage): Promise<void>;
}

/**
 * Stands in for one next hop of the outbound path: the router, DKIM signing and everything
 * before them run as in production, and what would have crossed the wire is kept in the
 * sandbox mailbox with the decision that took it there. Nothing connects anywhere.
 */
export function captureCourier(deps: CaptureDeps, hop: NextHop): Courier {
  return {
    remote: undefined,
    async deliver(message) {
      const signed = await readAll(message.openBody());
      const marker = `${CAPTURE_HEADER}: captured ${new Date(deps.clock.now()).toISOString()}; nothing was sent (${describeHop(hop, message)})\r\n`;
      const raw = Buffer.concat([Buffer.from(marker), signed]);
      const parsed = await PostalMime.parse(signed, { attachmentEncoding: 'arraybuffer' }).catch(() => undefined);
      const captured = await deps.mailbox.capture({
        kind: 'smtp',
        queueId: message.id,
        mailFrom: message.mailFrom,
        recipients: message.recipients,
        subject: parsed?.subject ?? null,
        decision: await decisionFor(deps, hop, message),
        dkim: await dkimOf(deps.store, signed),
        raw,
        now: deps.clock.now(),
      });
      await deps.captured?.(signed, message);
      const outcome: DeliveryOutcome = { kind: 'delivered', reply: `250 2.0.0 captured in the sandbox as ${captured.id}; nothing was sent` };
      return new Map(message.recipients.map((address) => [address, outcome]));
    },
    close: async () => undefined,
  };
}

async function decisionFor(deps: CaptureDeps, hop: NextHop, message: OutboundMessage): Promise<SandboxDecision> {
  return { route: await routeOf(deps, message), nextHop: describeHop(hop, message), tls: await tlsOf(deps, hop, message) };
}

async function routeOf(deps: CaptureDeps, message: OutboundMessage): Promise<string> {
  if (message.mailFrom === '') return 'none: a report or notice with the null sender';
  if (message.direction === 'inbound') return 'none: inbound mail forwarded to the application';
  const table = await deps.routeTable();
  const decision = decideRoute(table.rules, table.defaultAction, message.mailFrom);
  return decision.source === 'rule' ? `${decision.action} (route ${decision.rule.id}, ${decision.rule.match})` : `${decision.action} (the default route)`;
}

function describeHop(hop: NextHop, message: OutboundMessage): string {
  switch (hop.kind) {
    case 'smarthost':
      return `smarthost ${describeSmarthost(hop.target)}`;
    case 'mx':
      return `direct MX delivery to ${[...new Set(message.recipients.map(domainOf))].join(', ')}`;
    case 'none':
      return 'no smarthost or direct delivery configured: it would wait in the queue';
  }
}

async function tlsOf(deps: CaptureDeps, hop: NextHop, message: OutboundMessage): Promise<string> {
  const requireTls = message.tlsRequired === 'requiretls' ? '; REQUIRETLS asked by the sender (RFC 8689)' : '';
  if (hop.kind === 'smarthost') {
    const tls = { starttls: 'STARTTLS required, certificate verified', implicit: 'implicit TLS, certificate verified', none: 'plaintext (tls=none)' }[
      hop.target.tls
    ];
    return `${tls}${requireTls}`;
  }
  if (hop.kind === 'none') return 'not applicable';
  const parts = await Promise.all(
    [...new Set(message.recipients.map(domainOf))].map(async (domain) => {
      const requirement = await deps.requirements.requirementFor(domain);
      const own = requirement ? `, and the operator requires ${requirement}` : '';
      return `${domain}: DANE or MTA-STS as the domain publishes them, else opportunistic STARTTLS${own} (its DNS is not consulted in the sandbox)`;
    }),
  );
  return `${parts.join('; ')}${requireTls}`;
}

/**
 * The signatures checked against the keys this gateway holds, not against DNS: the sandbox
 * asks no resolver, and what it can prove is that the signature is the gateway's and intact.
 */
async function dkimOf(store: CaptureDeps['store'], message: Buffer): Promise<DkimVerdict[]> {
  const resolver = async (name: string, rrtype: string): Promise<string[][]> => {
    const match = /^([^.]+)\._domainkey\.(.+?)\.?$/i.exec(name);
    if (rrtype !== 'TXT' || !match) throw Object.assign(new Error(`${name} is not asked in the sandbox`), { code: 'ENOTFOUND' });
    const record = await store.dkimPublicRecord(match[1] ?? '', (match[2] ?? '').toLowerCase());
    if (record === undefined) throw Object.assign(new Error(`no key ${name} held by this gateway`), { code: 'ENOTFOUND' });
    return [[record]];
  };
  // Loaded with the first capture: mailauth whole is ~30 MB of resident size (src/inbound/authentication-results.ts).
  const { dkimVerify } = await import('mailauth');
  const { results } = await dkimVerify(message, { resolver: resolver as never });
  // mailauth reports an unsigned message as one result `none`: that is no signature, not a verdict on one.
  return results
    .filter((r) => r.signingDomain)
    .map((r) => ({
      domain: r.signingDomain ?? '',
      selector: r.selector ?? '',
      result: r.status.result,
      comment: r.status.comment ?? 'checked against the key this gateway holds; DNS not consulted',
    }));
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

async function readAll(body: Readable): Promise<Buffer> {
  return Buffer.concat(await body.toArray());
}
