import { Readable } from 'node:stream';
import type { DnsResolver } from '../dns/resolver.js';
import { authenticateMessage } from '../inbound/authentication-results.js';
import type { RelayFacts } from '../inbound/webhook-payload.js';
import { type Acceptance, type AcceptContext, accept } from '../pipeline/accept.js';
import { type InboundDeps, inboundRoute } from '../pipeline/routes/inbound.js';

/** The sandbox asks no resolver: SPF and DKIM of an injected message come out as temperror, and say so. */
const offline: DnsResolver = {
  query: async () => ({ kind: 'failed', servers: [], detail: 'the sandbox does not consult DNS' }),
};

export class InjectRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InjectRefused';
  }
}

/** What an injection runs on, built on the open store (src/app/sandbox-parts.ts). */
export interface InjectParts {
  /** Whether the address is one of a verified domain here (lookUpInboundRecipient). */
  isInboundRecipient(address: string): Promise<boolean>;
  /** How the organisation's server would relay for the domain (organisationRelay). */
  relayOf(domain: string): Promise<RelayFacts>;
  /** The same acceptance as SMTP's (spool, commit, verification tokens, secure replies): built once the recipients passed. */
  acceptance(): Promise<{ context: AcceptContext; inbound: Pick<InboundDeps, 'spool' | 'hostname' | 'secureReplies'> }>;
}

/**
 * Relays a message into the gateway as the organisation's mail server would: to addresses of
 * verified domains only, authenticated with the domain's inbound credential, through the same
 * acceptance as SMTP (marker, verification tokens, commit). The running gateway's worker then
 * hands it to the application, or to the sandbox's capture endpoint.
 */
export async function injectInbound(parts: InjectParts, o: { raw: Buffer; to: string[]; from: string }): Promise<Acceptance> {
  if (o.to.length === 0) throw new InjectRefused('give at least one recipient with --to');
  for (const address of o.to) {
    if (!(await parts.isInboundRecipient(address)))
      throw new InjectRefused(`${address} is not an address of a verified domain here: add it first (relaygate address add ${address} --kind support)`);
  }
  const domain = (o.to[0] ?? '').slice((o.to[0] ?? '').lastIndexOf('@') + 1).toLowerCase();
  const relay = await parts.relayOf(domain);
  const { context, inbound } = await parts.acceptance();
  const deps: InboundDeps = {
    ...inbound,
    authenticate: (input) => authenticateMessage({ ...input, resolver: offline }),
    synchronous: { targetFor: async () => undefined, deliver: async () => '' },
  };
  return accept(context, inboundRoute(deps, relay.credentialId ? { credentialId: relay.credentialId, domain } : null), {
    envelope: { mailFrom: o.from, recipients: o.to.map((address) => ({ address, notify: undefined, orcpt: undefined })), requireTls: false },
    session: { heloName: 'sandbox-inject', clientIp: relay.clientIp, tlsProtocol: relay.tlsVersion ?? undefined, authenticated: relay.authenticated },
    credentialId: relay.credentialId,
    relay,
    // Files on disk often end lines in LF alone; SMTP would have carried CRLF.
    body: Readable.from([Buffer.from(o.raw.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1')]),
  });
}
