import { Readable } from 'node:stream';
import type { OpenStore } from '../app/open-store.js';
import type { Config } from '../config/schema.js';
import { connector } from '../connector/connector.js';
import { lookUpInboundRecipient } from '../directory/inbound-recipients.js';
import type { DnsResolver } from '../dns/resolver.js';
import type { Clock } from '../lib/clock.js';
import { acceptInbound, type InboundAcceptance } from '../pipeline/accept-inbound.js';
import { groupCommitter } from '../queue/group-commit.js';
import { spoolFor } from '../queue/open-spool.js';
import type { KeyRing } from '../secure/key-encryption.js';
import { keyEncryptionFor } from '../secure/master-key.js';
import { sealingSpool } from '../secure/sealing-spool.js';
import { secureReplies } from '../secure/secure-replies.js';
import { sqlConnectorStore } from '../store/connector/index.js';
import { sqlQueueStore } from '../store/sql-queue-store.js';
import { organisationRelay } from './sandbox.js';

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

/**
 * Relays a message into the gateway as the organisation's mail server would: to addresses of
 * verified domains only, authenticated with the domain's inbound credential, through the same
 * acceptance as SMTP (marker, verification tokens, commit). The running gateway's worker then
 * hands it to the application, or to the sandbox's capture endpoint.
 */
export async function injectInbound(o: {
  store: Pick<OpenStore, 'db' | 'syncCommitted' | 'hashKey'>;
  config: Config;
  clock: Clock;
  raw: Buffer;
  to: string[];
  from: string;
}): Promise<InboundAcceptance> {
  if (o.to.length === 0) throw new InjectRefused('give at least one recipient with --to');
  for (const address of o.to) {
    const found = await lookUpInboundRecipient(o.store.db, address);
    if (found.kind !== 'known')
      throw new InjectRefused(`${address} is not an address of a verified domain here: add it first (relaygate address add ${address} --kind support)`);
  }
  const domain = (o.to[0] ?? '').slice((o.to[0] ?? '').lastIndexOf('@') + 1).toLowerCase();
  const relay = await organisationRelay(o.store.db, domain);
  let kek: KeyRing | undefined;
  const spool = sealingSpool(spoolFor(o.store.db, o.config.dataDir), {
    db: o.store.db,
    kek: () => (kek ??= keyEncryptionFor(o.config)),
    now: () => o.clock.now(),
  });
  await spool.init();
  const queue = sqlQueueStore(o.store.db, o.store.syncCommitted);
  const ctx = { db: o.store.db, clock: o.clock, hashKey: o.store.hashKey, syncCommitted: o.store.syncCommitted };
  const checks = connector({ connector: sqlConnectorStore(o.store.db) }, { ctx, config: o.config, spool, queue });
  return acceptInbound(
    {
      spool,
      committer: groupCommitter(spool, queue),
      clock: o.clock,
      hostname: o.config.hostname,
      maxMessageBytes: o.config.smtp.maxMessageBytes,
      maxReceived: o.config.smtp.maxReceived,
      expireAfterMs: o.config.queue.expireAfter,
      resolver: offline,
      verificationArrived: (token, facts) => checks.arrived(token, facts),
      synchronous: { targetFor: async () => undefined, deliver: async () => '' },
      secureReplies: secureReplies({ db: o.store.db, hashKey: o.store.hashKey }),
    },
    {
      envelope: { mailFrom: o.from, recipients: o.to.map((address) => ({ address, notify: undefined, orcpt: undefined })), requireTls: false },
      session: { heloName: 'sandbox-inject', clientIp: relay.clientIp, tlsProtocol: relay.tlsVersion ?? undefined, authenticated: relay.authenticated },
      relay,
      smtpAuth: relay.credentialId ? { credentialId: relay.credentialId, domain } : null,
      // Files on disk often end lines in LF alone; SMTP would have carried CRLF.
      body: Readable.from([Buffer.from(o.raw.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1')]),
    },
  );
}
