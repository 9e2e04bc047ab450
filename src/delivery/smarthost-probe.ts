import { X509Certificate } from 'node:crypto';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { type ConnectionOptions, TLSSocket, connect as tlsConnect } from 'node:tls';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { SmarthostTarget, SmarthostTls } from '../config/smarthost-url.js';
import { oauthLogin } from './oauth-sasl.js';
import { type Exchange, Transcript } from './probe-transcript.js';
import { describeTls, type TlsReport, tlsReport } from './tls-report.js';

export type ProbeStepName = 'connect' | 'tls' | 'greeting' | 'ehlo' | 'starttls' | 'token' | 'auth' | 'quit';

export interface ProbeStep {
  step: ProbeStepName;
  status: 'pass' | 'fail' | 'skip';
  detail: string;
  /** The server's reply to this step, when it sent one. */
  reply: string | null;
  tls?: TlsReport;
}

export interface ProbeReport {
  ok: boolean;
  steps: ProbeStep[];
}

export interface ProbeOptions {
  /** Our name in EHLO. */
  heloName: string;
  /** Trust anchors (PEM); Node's default store when undefined. */
  ca?: string | undefined;
  /** Per step; the test must answer an operator quickly. */
  timeoutMs?: number;
}

/** The steps of a session in each TLS mode; STARTTLS repeats EHLO over TLS (RFC 3207 §4.2). */
const PLAN: Record<SmarthostTls, ProbeStepName[]> = {
  implicit: ['connect', 'tls', 'greeting', 'ehlo', 'auth', 'quit'],
  starttls: ['connect', 'greeting', 'ehlo', 'starttls', 'tls', 'ehlo', 'auth', 'quit'],
  none: ['connect', 'greeting', 'ehlo', 'auth', 'quit'],
};

/** With OAuth 2.0 the token is fetched just before AUTH, the way delivery does it. */
const planOf = (target: SmarthostTarget): ProbeStepName[] =>
  target.oauth ? PLAN[target.tls].flatMap((step) => (step === 'auth' ? ['token', 'auth'] : [step])) : PLAN[target.tls];

/**
 * Tries a smarthost the way delivery would use it and reports each step with the server's
 * reply. The certificate is checked by us after the handshake (rejectUnauthorized: false so
 * that the report can show what was offered), and credentials are only sent once it passed:
 * never over a channel we do not trust (RFC 4954 §4, RFC 3207 §6). No mail is sent.
 */
export async function probeSmarthost(target: SmarthostTarget, options: ProbeOptions): Promise<ProbeReport> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const steps: ProbeStep[] = [];
  const socket = await connectTcp(target.host, target.port, timeoutMs).catch((err: Error) => err);
  if (socket instanceof Error) return finish(target, [fail('connect', socket.message)]);
  steps.push(pass('connect', `connected to ${socket.remoteAddress}:${socket.remotePort}`));
  let transport: Socket = socket;
  if (target.tls === 'implicit') {
    const secured = await handshake(socket, target, options.ca, timeoutMs).catch((err: Error) => err);
    const step = secured instanceof Error ? fail('tls', `TLS handshake failed: ${secured.message}`) : tlsStep(tlsReport(secured), target);
    steps.push(step);
    if (step.status === 'fail') {
      if (secured instanceof TLSSocket) secured.destroy();
      socket.destroy();
      return finish(target, steps);
    }
    transport = secured as TLSSocket;
  }
  steps.push(...(await smtpSteps(target, transport, options, timeoutMs)));
  socket.destroy();
  return finish(target, steps);
}

/** Greeting to QUIT over a connected socket; closes the SMTP session (and any TLS over the socket) before returning. */
async function smtpSteps(target: SmarthostTarget, transport: Socket, options: ProbeOptions, timeoutMs: number): Promise<ProbeStep[]> {
  const transcript = new Transcript();
  const implicit = target.tls === 'implicit';
  const conn = new SMTPConnection({
    connection: transport,
    host: target.host,
    port: target.port,
    secure: implicit,
    secured: implicit,
    requireTLS: target.tls === 'starttls',
    ignoreTLS: target.tls === 'none',
    name: options.heloName,
    tls: { ...tlsOptions(target, options.ca), rejectUnauthorized: false },
    ...(target.oauth ? { customAuth: { [target.oauth.mechanism]: oauthLogin(target.oauth) } } : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    socketCloseTimeout: 0,
    logger: transcript.logger,
    transactionLog: true,
  });
  conn.on('error', () => undefined); // reported through openSession and the transcript
  try {
    const error = await openSession(conn, timeoutMs * 2);
    const steps = handshakeSteps(target, transcript, error, conn);
    if (!error) {
      if (target.oauth) steps.push(await tokenStep(target, steps));
      steps.push(await authStep(conn, target, transcript, steps));
      steps.push(await quitStep(conn, transcript, timeoutMs));
    }
    return steps;
  } finally {
    conn.close();
  }
}

/** Greeting, EHLO and, with STARTTLS, the upgrade, as far as the session got. */
function handshakeSteps(target: SmarthostTarget, transcript: Transcript, error: Error | undefined, conn: SMTPConnection): ProbeStep[] {
  const mode = target.tls;
  const steps: ProbeStep[] = [];
  const add = (step: ProbeStepName, exchange: Exchange | undefined) => {
    const reported = replyStep(step, exchange, steps.some((s) => s.status === 'fail') ? undefined : error);
    if (reported) steps.push(reported);
    return reported?.status === 'pass';
  };
  if (!add('greeting', transcript.find('greeting')) || !add('ehlo', transcript.find('EHLO') ?? transcript.find('HELO'))) return steps;
  if (mode !== 'starttls' || !add('starttls', transcript.find('STARTTLS'))) return steps;
  const socket = conn._socket;
  if (!(socket instanceof TLSSocket) || !conn.secure) {
    steps.push(fail('tls', `TLS handshake failed: ${error?.message ?? 'the connection was not upgraded'}`));
    return steps;
  }
  steps.push(tlsStep(tlsReport(socket), target));
  add('ehlo', transcript.find('EHLO', 1));
  return steps;
}

/**
 * A step judged by its reply (2xx passes). Without a reply, the step the session broke in
 * gets the error; later ones are not reported here (finish() marks them skipped).
 */
function replyStep(step: ProbeStepName, exchange: Exchange | undefined, error: Error | undefined): ProbeStep | undefined {
  if (exchange?.reply) return { step, status: exchange.reply.startsWith('2') ? 'pass' : 'fail', detail: exchange.command, reply: exchange.reply };
  return error ? { ...fail(step, error.message), reply: exchange?.reply ?? null } : undefined;
}

/** The client-credentials grant, only over a session whose TLS passed: the token is sent nowhere else. */
async function tokenStep(target: SmarthostTarget, before: ProbeStep[]): Promise<ProbeStep> {
  const oauth = target.oauth;
  if (!oauth) return skip('token', 'no OAuth 2.0 client configured');
  if (before.some((s) => s.status === 'fail')) return skip('token', 'not attempted: an earlier step failed');
  try {
    const token = await oauth.token(false);
    return pass('token', `access token (${token.length} characters) from ${oauth.tokenUrl} by the client-credentials grant`);
  } catch (err) {
    return fail('token', (err as Error).message);
  }
}

async function authStep(conn: SMTPConnection, target: SmarthostTarget, transcript: Transcript, before: ProbeStep[]): Promise<ProbeStep> {
  if (before.some((s) => s.status === 'fail')) return skip('auth', 'not attempted: credentials are only sent once every step before passed');
  if (target.oauth) return oauthStep(conn, target.oauth, transcript);
  if (!target.auth) return skip('auth', 'no username configured');
  if (!conn.allowsAuth) return fail('auth', 'the server does not offer AUTH (RFC 4954) on this connection');
  const auth = target.auth;
  const error = await new Promise<Error | null>((resolve) => conn.login({ user: auth.user, pass: auth.pass }, (err) => resolve(err)));
  const exchange = transcript.find('AUTH', transcript.exchanges.filter((e) => e.command.startsWith('AUTH')).length - 1);
  const reply = exchange?.reply ?? null;
  if (error) return { ...fail('auth', `authentication as ${auth.user} failed`), reply: reply ?? error.message };
  return { ...pass('auth', `authenticated as ${auth.user} (${exchange?.command ?? 'AUTH'})`), reply };
}

async function oauthStep(conn: SMTPConnection, oauth: NonNullable<SmarthostTarget['oauth']>, transcript: Transcript): Promise<ProbeStep> {
  if (!conn.allowsAuth) return fail('auth', 'the server does not offer AUTH (RFC 4954) on this connection');
  const error = await new Promise<Error | null>((resolve) => conn.login({ user: oauth.user, method: oauth.mechanism }, (err) => resolve(err)));
  const tries = transcript.exchanges.filter((e) => e.command.startsWith('AUTH')).length;
  const reply = transcript.find('AUTH', tries - 1)?.reply ?? null;
  const retried = tries > 1 ? ' after a retry with a fresh token' : '';
  if (error)
    return {
      ...fail('auth', `AUTH ${oauth.mechanism} as ${oauth.user} refused${retried}`),
      reply: (error as Error & { response?: string }).response ?? reply ?? error.message,
    };
  return { ...pass('auth', `authenticated as ${oauth.user} (AUTH ${oauth.mechanism}${retried})`), reply };
}

async function quitStep(conn: SMTPConnection, transcript: Transcript, timeoutMs: number): Promise<ProbeStep> {
  if (conn.destroyed) return skip('quit', 'the server closed the connection');
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    conn.once('end', () => {
      clearTimeout(timer);
      resolve();
    });
    conn.quit();
  });
  return replyStep('quit', transcript.find('QUIT'), new Error('no reply to QUIT')) ?? fail('quit', 'no reply to QUIT');
}

/** Fills in the steps never reached, so every report lists the whole plan of its mode. */
function finish(target: SmarthostTarget, steps: ProbeStep[]): ProbeReport {
  const all = [
    ...steps,
    ...planOf(target)
      .slice(steps.length)
      .map((step) => skip(step, 'not attempted: an earlier step failed')),
  ];
  return { ok: all.every((s) => s.status !== 'fail'), steps: all };
}

function tlsStep(report: TlsReport, target: SmarthostTarget): ProbeStep {
  const client = target.clientCert ? `; our client certificate ${clientSubject(target.clientCert.cert)} offered if asked` : '';
  return { step: 'tls', status: report.verified ? 'pass' : 'fail', detail: `${describeTls(report)}${client}`, reply: null, tls: report };
}

function clientSubject(pem: string): string {
  try {
    return new X509Certificate(pem).subject.replace(/\n/g, ', ');
  } catch {
    return '(unreadable)';
  }
}

function tlsOptions(target: SmarthostTarget, ca: string | undefined): ConnectionOptions {
  const { host, clientCert } = target;
  // RFC 6066 §3: SNI carries host names only; an IP-literal host is checked against its IP SAN.
  return {
    minVersion: 'TLSv1.2',
    ...(isIP(host) ? {} : { servername: host }),
    ...(ca ? { ca } : {}),
    ...(clientCert ? { cert: clientCert.cert, key: clientCert.key } : {}),
  };
}

/** Resolves once the session is ready to send (greeting, EHLO, STARTTLS done) or broke: with the error then. */
export function openSession(conn: SMTPConnection, deadlineMs: number): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(new Error(`no complete handshake within ${deadlineMs} ms`)), deadlineMs);
    const settle = (err?: Error) => {
      clearTimeout(timer);
      resolve(err);
    };
    conn.once('error', settle);
    conn.connect((err) => settle(err));
  });
}

export function connectTcp(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host, port });
    const timer = setTimeout(() => socket.destroy(new Error(`no TCP connection to ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

function handshake(socket: Socket, target: SmarthostTarget, ca: string | undefined, timeoutMs: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const secured = tlsConnect({ socket, host: target.host, ...tlsOptions(target, ca), rejectUnauthorized: false });
    const timer = setTimeout(() => secured.destroy(new Error(`no TLS handshake within ${timeoutMs} ms`)), timeoutMs);
    secured.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    secured.once('secureConnect', () => {
      clearTimeout(timer);
      resolve(secured);
    });
  });
}

const pass = (step: ProbeStepName, detail: string): ProbeStep => ({ step, status: 'pass', detail, reply: null });
const fail = (step: ProbeStepName, detail: string): ProbeStep => ({ step, status: 'fail', detail, reply: null });
const skip = (step: ProbeStepName, detail: string): ProbeStep => ({ step, status: 'skip', detail, reply: null });
