import { TLSSocket } from 'node:tls';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { MxProbe, MxProber } from '../dns/check/mx-probe.js';
import { daneVerify, isUsableTlsa, peerChain, spkiSha256, type Tlsa } from './dane-match.js';
import { quit } from './mx-session.js';
import { Transcript } from './probe-transcript.js';
import { connectTcp, openSession } from './smarthost-probe.js';

export interface MxTlsProbeOptions {
  port: number;
  heloName: string;
  /** Trust anchors (PEM) for the PKIX check; Node's default store when undefined. */
  ca: string | undefined;
  connectMs: number;
  /** For the greeting, EHLO, STARTTLS and EHLO again together: the checker answers a person waiting. */
  sessionMs: number;
}

/**
 * The DNS checker's look at an MX host: EHLO, STARTTLS, the certificate judged as delivery
 * would judge it (mx-session.ts), then QUIT, before any envelope. Addresses are tried in
 * turn until one completes the handshake.
 */
export function mxTlsProber(o: MxTlsProbeOptions): MxProber {
  return async (host, addresses, tlsa) => {
    const failures: string[] = [];
    for (const address of addresses) {
      const probe = await probeAddress(host, address, tlsa, o);
      if (probe.kind !== 'unreachable') return probe;
      failures.push(probe.detail);
    }
    return { kind: 'unreachable', detail: failures.join('; ') || `${host} has no address` };
  };
}

async function probeAddress(host: string, address: string, tlsa: Tlsa[], o: MxTlsProbeOptions): Promise<MxProbe> {
  const where = `${address} port ${o.port}`;
  const socket = await connectTcp(address, o.port, o.connectMs).catch((err: Error) => err);
  if (socket instanceof Error) return { kind: 'unreachable', detail: `${where}: ${socket.message}` };
  const transcript = new Transcript();
  const conn = new SMTPConnection({
    connection: socket,
    host,
    port: o.port,
    name: o.heloName,
    opportunisticTLS: true,
    tls: { servername: host, minVersion: 'TLSv1.2', rejectUnauthorized: false, ...(o.ca ? { ca: o.ca } : {}) },
    connectionTimeout: o.connectMs,
    greetingTimeout: o.sessionMs,
    socketTimeout: o.sessionMs,
    socketCloseTimeout: 0,
    logger: transcript.logger,
    transactionLog: true,
  });
  conn.on('error', () => undefined); // reported through openSession
  try {
    const error = await openSession(conn, o.sessionMs);
    if (error) return { kind: 'unreachable', detail: `${where}: ${error.message}` };
    const tlsSocket = conn._socket;
    if (!conn.secure || !(tlsSocket instanceof TLSSocket)) {
      const starttls = transcript.find('STARTTLS');
      await quit(conn);
      return { kind: 'no-starttls', address, detail: starttls?.reply ? `${host} refused STARTTLS: ${starttls.reply}` : `${host} does not offer STARTTLS` };
    }
    // Exactly one getPeerCertificate call, as in mx-session.ts (Node 20, libraries.md §5).
    const chain = peerChain(tlsSocket.getPeerCertificate(true));
    const leaf = chain[0];
    const usable = tlsa.filter(isUsableTlsa);
    const verdict = usable.length > 0 ? daneVerify(chain, usable, host) : null;
    const probe: MxProbe = {
      kind: 'tls',
      address,
      protocol: tlsSocket.getProtocol() ?? 'TLS',
      spkiSha256: leaf ? spkiSha256(leaf) : '',
      dane: verdict === null ? null : verdict.ok ? { ok: true, match: verdict.match } : { ok: false, problem: verdict.problem },
      // Node checks the chain and, through checkServerIdentity, the name (RFC 6125) even when not rejecting.
      pkix: tlsSocket.authorized ? { ok: true } : { ok: false, problem: `${String(tlsSocket.authorizationError ?? 'not verified')}` },
    };
    await quit(conn);
    return probe;
  } finally {
    conn.close();
    socket.destroy();
  }
}
