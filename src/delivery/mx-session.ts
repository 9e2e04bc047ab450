import { isIPv6 } from 'node:net';
import { TLSSocket } from 'node:tls';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { DeliveryEvidence, DeliveryOutcome, FailureReason } from '../model/outcome.js';
import type { ConnectPlan, TlsCheck } from '../policy/mx-tls-policy.js';
import { classifyFailure } from './classify-failure.js';
import type { OutboundMessage } from './courier.js';
import { daneVerify, peerChain, spkiSha256, type Tlsa } from './dane-match.js';
import { Transcript } from './probe-transcript.js';
import { connectTcp, openSession } from './smarthost-probe.js';
import { clientTimeouts, type DeliveryTimeouts, watchFinalDot } from './smtp-timeouts.js';

/** Why one MX host (or one of its addresses) could not take the message; `permanent` only for REQUIRETLS (RFC 8689 §4.2.1). */
export interface HostFailure {
  reason: FailureReason;
  text: string;
  permanent: boolean;
}

export type SessionResult = { kind: 'sent'; outcomes: Map<string, DeliveryOutcome> } | { kind: 'failed'; failure: HostFailure };

export interface SessionRequest {
  host: string;
  address: string;
  port: number;
  plan: ConnectPlan;
  tlsa: Tlsa[];
  message: OutboundMessage;
  recipients: string[];
  /** The evidence known before connecting. */
  known: Pick<DeliveryEvidence, 'override' | 'tlsRequired' | 'dnssec' | 'mtaSts'>;
}

export interface SessionOptions {
  heloName: string;
  /** Trust anchors (PEM) for PKIX checks; Node's default store when undefined. */
  ca: string | undefined;
  timeouts: DeliveryTimeouts;
}

type TlsFacts = Pick<DeliveryEvidence, 'tls' | 'peerAuthentication' | 'tlsaMatch' | 'spkiSha256' | 'policyFailures'>;

const QUIT_WAIT_MS = 2_000;

const REASON: Record<TlsCheck, FailureReason> = { dane: 'dane', 'mta-sts': 'mta-sts', 'tls-policy': 'tls-policy', requiretls: 'tls-policy' };

/**
 * One SMTP session with one address of one MX host, on a socket we open ourselves, so that
 * the TLS checks run on the upgraded socket after EHLO and before MAIL FROM (libraries.md §2):
 * a host that fails them gets QUIT and never sees the envelope. Contract: never throws;
 * `failed` means nothing was sent (the next host may be tried), `sent` has one outcome per
 * recipient, classified by classifyFailure().
 */
export async function mxSession(req: SessionRequest, o: SessionOptions): Promise<SessionResult> {
  const { timeouts } = o;
  const socket = await connectTcp(req.address, req.port, timeouts.connectMs).catch((err: Error) => err);
  if (socket instanceof Error) return failed('connection', `${where(req)}: ${socket.message}`);
  const transcript = new Transcript();
  const conn = new SMTPConnection({
    connection: socket,
    host: req.host,
    port: req.port,
    name: o.heloName,
    // Always STARTTLS when offered; whether plaintext is acceptable is decided below, before MAIL FROM.
    opportunisticTLS: true,
    // Not rejected in the handshake: Node still records whether the chain and the MX name verify
    // (`authorized`), and DANE-EE certificates are usually self-signed (libraries.md §5).
    tls: { servername: req.host, minVersion: 'TLSv1.2', rejectUnauthorized: false, ...(o.ca ? { ca: o.ca } : {}) },
    ...clientTimeouts(timeouts),
    socketCloseTimeout: 0,
    logger: transcript.logger,
    transactionLog: true,
  });
  conn.on('error', () => undefined); // reported through openSession and send
  try {
    // A backstop over the greeting, EHLO, STARTTLS and EHLO again, each bounded by its own timer.
    const error = await openSession(conn, timeouts.greetingMs + 3 * timeouts.commandMs);
    if (error) {
      const classified = classifyFailure(error);
      return failed(classified.reason, `${where(req)}: ${classified.reply}`);
    }
    const tls = checkTls(conn, transcript, req);
    if ('failure' in tls) {
      await quit(conn);
      return { kind: 'failed', failure: tls.failure };
    }
    const result = await send(conn, req, tls, timeouts.dataMs);
    await quit(conn);
    return result;
  } finally {
    conn.close();
    socket.destroy();
  }
}

/** The plan's TLS requirement and certificate check, on the session as EHLO left it. */
function checkTls(conn: SMTPConnection, transcript: Transcript, req: SessionRequest): TlsFacts | { failure: HostFailure } {
  const { plan, host } = req;
  const notes = [...plan.notes];
  const socket = conn._socket;
  if (!conn.secure || !(socket instanceof TLSSocket)) {
    const starttls = transcript.find('STARTTLS');
    const why = starttls?.reply ? `${host} refused STARTTLS: ${starttls.reply}` : `${host} did not offer STARTTLS`;
    if (plan.tls === 'required') {
      const by = plan.tlsRequiredBy ?? 'tls-policy';
      return { failure: { reason: REASON[by], text: `${by}: ${why}`, permanent: by === 'requiretls' } };
    }
    if (plan.authenticatedFor) notes.push(`${plan.authenticatedFor}: ${why}; delivered without TLS`);
    return { tls: null, peerAuthentication: 'none', tlsaMatch: null, spkiSha256: null, policyFailures: notes };
  }
  // Exactly one getPeerCertificate call, and never getPeerX509Certificate (Node 20, libraries.md §5).
  const chain = peerChain(socket.getPeerCertificate(true));
  const leaf = chain[0];
  const facts: TlsFacts = {
    tls: { version: socket.getProtocol() ?? 'unknown', cipher: socket.getCipher()?.name ?? 'unknown' },
    peerAuthentication: socket.authorized ? 'PKIX' : 'none',
    tlsaMatch: null,
    spkiSha256: leaf ? spkiSha256(leaf) : null,
    policyFailures: notes,
  };
  const problem = authenticationProblem(socket, chain, req, facts);
  if (problem === undefined) return facts;
  const check = plan.authenticatedFor ?? 'tls-policy';
  if (plan.enforce) return { failure: { reason: REASON[check], text: `${check}: ${problem}`, permanent: false } };
  notes.push(`${check}: ${problem}`);
  return facts;
}

/** Undefined when the peer passed the plan's check; records a DANE match in `facts`. */
function authenticationProblem(socket: TLSSocket, chain: ReturnType<typeof peerChain>, req: SessionRequest, facts: TlsFacts): string | undefined {
  if (req.plan.authenticate === 'dane') {
    const verdict = daneVerify(chain, req.tlsa, req.host);
    if (!verdict.ok) return verdict.problem;
    facts.peerAuthentication = verdict.authentication;
    facts.tlsaMatch = verdict.match;
    return undefined;
  }
  if (req.plan.authenticate === 'pkix' && !socket.authorized) {
    // Node sets it to the error code (a string) despite the declared type.
    return `the certificate of ${req.host} is not valid for it (${String(socket.authorizationError ?? 'not verified')})`;
  }
  return undefined;
}

interface SendInfo {
  accepted?: string[];
  rejectedErrors?: { recipient?: string; response?: string; responseCode?: number; command?: string }[];
  response?: string;
}

function send(conn: SMTPConnection, req: SessionRequest, facts: TlsFacts, dataTimeoutMs: number): Promise<SessionResult> {
  const { message, recipients, plan } = req;
  return new Promise((resolve) => {
    const body = message.openBody();
    // Once the final dot is out, the reply gets the DATA timeout instead of the command timeout.
    const finalDot = watchFinalDot(body, () => {
      if (conn._socket) conn._socket.setTimeout(dataTimeoutMs);
    });
    const envelope = { from: message.mailFrom, to: recipients, size: message.sizeBytes, requireTLSExtensionEnabled: plan.requireTlsExtension };
    conn.send(envelope, body, (failure, info) => {
      const err = finalDot(failure) as typeof failure;
      body.destroy();
      if (err && (err as { code?: string }).code === 'EREQUIRETLS') {
        // Checked by nodemailer before MAIL FROM is sent: nothing reached this host.
        const text = `requiretls: ${req.host} does not offer REQUIRETLS over TLS (RFC 8689 §4.2.1)`;
        return resolve({ kind: 'failed', failure: { reason: 'tls-policy', text, permanent: true } });
      }
      const result = (err ?? info) as SendInfo;
      const outcomes = new Map<string, DeliveryOutcome>();
      for (const rejected of result.rejectedErrors ?? []) if (rejected.recipient) outcomes.set(rejected.recipient, classifyFailure(rejected));
      if (!err) {
        const reply = (result.response ?? '250 accepted').slice(0, 500);
        const evidence = { ...req.known, ...facts, policy: plan.policy, mxHost: req.host, mxAddress: addressText(req), reply };
        for (const address of result.accepted ?? []) outcomes.set(address, { kind: 'delivered', reply, evidence });
      }
      const shared = err ? classifyFailure(err) : undefined;
      for (const address of recipients) {
        if (!outcomes.has(address)) outcomes.set(address, shared ?? { kind: 'deferred', reason: 'unknown', reply: 'no reply for this recipient' });
      }
      resolve({ kind: 'sent', outcomes });
    });
  });
}

export async function quit(conn: SMTPConnection): Promise<void> {
  if (conn.destroyed) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, QUIT_WAIT_MS);
    conn.once('end', () => {
      clearTimeout(timer);
      resolve();
    });
    conn.quit();
  });
}

function failed(reason: FailureReason, text: string): SessionResult {
  return { kind: 'failed', failure: { reason, text: text.slice(0, 500), permanent: false } };
}

const addressText = (req: SessionRequest) => (isIPv6(req.address) ? `[${req.address}]:${req.port}` : `${req.address}:${req.port}`);
const where = (req: SessionRequest) => `${req.host} (${addressText(req)})`;
