import type net from 'node:net';
import type tls from 'node:tls';
import type { Logger } from 'pino';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { ENHANCED_CODE, SmtpReply } from '../model/smtp-reply.js';
import type { ConnectionsPerAddress } from './connections-per-address.js';
import { type EnvelopeCommand, envelopeLineObjection } from './envelope-parameters.js';
import { greetingArgumentProblem } from './greeting-argument.js';
import type { SmtpObserver } from './session-handlers.js';

export interface SessionBudgets {
  /**
   * Longest a client may take to send one command line, counted from our previous reply
   * (when the turn passed to the client); a trickling client is cut off.
   */
  commandTimeoutMs: number;
  /** Longest a client may take from DATA to the end-of-data mark. */
  dataTimeoutMs: number;
  /**
   * Longest a TLS handshake may take, implicit or after STARTTLS, counted from its start and
   * not extended by the bytes that arrive: a stalled or trickled handshake is closed.
   */
  tlsHandshakeTimeoutMs: number;
}

export interface RefusalSink {
  log: Logger;
  observe?: Pick<SmtpObserver, 'refused'> | undefined;
}

/**
 * The adapter between smtp-server and the gateway's reply rules. smtp-server is a sound
 * parser, but three of its defaults do not fit a submission gateway:
 * - it derives enhanced status codes from the basic code alone, so a `550 5.7.1` we choose
 *   would go out as `550 5.1.1 5.7.1 …`: replies whose text already carries an enhanced
 *   code (every SmtpReply) are sent as they are;
 * - it waits a fixed 100 ms before every greeting to catch early talkers (a port 25
 *   spam check); submission clients are authenticated applications (RFC 6409), and the
 *   delay capped one-message-per-connection clients at ~10 msg/s each in the benchmark;
 * - its only timer is an idle timer, which a client trickling one byte at a time resets
 *   for ever: commands and messages get time budgets here.
 * It also hides AUTH from EHLO until TLS is up (RFC 4954 §4, RFC 3207 §4), and sends the
 * size and recipient limits of smtp-server's own checks as the same SmtpReply the rest of
 * the gateway uses, so one limit reads the same wherever it is hit. smtp-server takes any
 * HELO argument without control characters and any MAIL/RCPT parameter: both are checked
 * here first (greeting-argument.ts, envelope-parameters.ts). Its only handshake timer is the
 * idle timer, so a STARTTLS handshake gets a deadline of its own, and a handshake still
 * running gives up its slot when the listener is full (GatewaySmtpServer).
 */
class GatewayConnection extends SMTPConnection {
  private readonly budgets: SessionBudgets;
  private commandTimer: NodeJS.Timeout | undefined;
  private dataTimer: NodeJS.Timeout | undefined;
  /** The TLS socket of a STARTTLS handshake in progress. */
  private handshaking: tls.TLSSocket | undefined;

  constructor(server: SMTPServer, socket: net.Socket | tls.TLSSocket, options: ConstructorParameters<typeof SMTPConnection>[2], budgets: SessionBudgets) {
    super(server, socket, options);
    this.budgets = budgets;
  }

  override init(): void {
    this._setListeners(() => {
      const max = this._server.options.maxClients;
      if (max && this._server.connections.size > max) (this._server as GatewaySmtpServer).yieldStalledHandshake();
      if (max && this._server.connections.size > max) {
        const reply = SmtpReply.tooManyConnections();
        (this._server as GatewaySmtpServer).refused(this.remoteAddress, reply);
        this.send(reply.code, reply.message);
        return;
      }
      this.connectionReady();
    });
    this.armCommandBudget();
  }

  override _onCommand(command: Buffer, callback?: () => void): void {
    const verb = command.toString('latin1', 0, 8).trim().split(/\s/)[0]?.toUpperCase();
    if ((this._server as GatewaySmtpServer).draining && verb !== 'QUIT' && !this.inTransaction()) {
      // Shutting down: a transaction already begun may finish, a new one may not (RFC 5321 §3.8).
      const reply = SmtpReply.shuttingDown();
      return this.send(reply.code, reply.message);
    }
    if (verb === 'DATA') this.armDataBudget();
    super._onCommand(command, callback);
  }

  override handler_EHLO(command: Buffer, callback: () => void): void {
    if (!this.refusedGreeting('EHLO', command, callback)) super.handler_EHLO(command, callback);
  }

  override handler_HELO(command: Buffer, callback: () => void): void {
    if (!this.refusedGreeting('HELO', command, callback)) super.handler_HELO(command, callback);
  }

  override handler_MAIL(command: Buffer, callback: () => void): void {
    // A nested MAIL is smtp-server's 503, whatever its parameters.
    if (this.session.envelope?.mailFrom || !this.refusedEnvelopeLine('MAIL FROM', command, callback)) super.handler_MAIL(command, callback);
  }

  override handler_RCPT(command: Buffer, callback: () => void): void {
    if (!this.session.envelope?.mailFrom || !this.refusedEnvelopeLine('RCPT TO', command, callback)) super.handler_RCPT(command, callback);
  }

  private refusedGreeting(verb: 'EHLO' | 'HELO', command: Buffer, callback: () => void): boolean {
    const [, argument, ...extra] = command.toString().trim().split(/\s+/);
    const problem = argument === undefined || extra.length > 0 ? undefined : greetingArgumentProblem(argument);
    if (argument !== undefined && extra.length === 0 && problem === undefined) return false;
    this.refuse(verb, problem ? SmtpReply.greetingArgumentInvalid(verb, problem) : SmtpReply.greetingArgumentMissing(verb), callback);
    return true;
  }

  private refusedEnvelopeLine(command: EnvelopeCommand, line: Buffer, callback: () => void): boolean {
    const smtpUtf8 = this.session.envelope?.smtpUtf8 === true;
    const reply = envelopeLineObjection(line.toString(), { command, secure: this.secure, smtpUtf8 });
    if (!reply) return false;
    this.refuse(command, reply, callback);
    return true;
  }

  private refuse(command: string, reply: SmtpReply, callback: () => void): void {
    const { log, observe } = (this._server as GatewaySmtpServer).refusals;
    log.info({ event: 'smtp.command', session: this.id, ip: this.remoteAddress, command, reply: reply.toString() }, 'command refused');
    if (command === 'MAIL FROM' || command === 'RCPT TO') observe?.refused(command === 'MAIL FROM' ? 'mail_from' : 'rcpt_to', reply);
    this.send(reply.code, reply.message);
    callback();
  }

  /**
   * smtp-server arms the idle timer on the TLS socket of a STARTTLS handshake through here,
   * before the handshake starts: the moment to give the handshake its deadline.
   */
  override _armTimeout(socket: net.Socket = this._socket): void {
    super._armTimeout(socket);
    if (!this._upgrading || socket === this._socket || this.handshaking) return;
    const tlsSocket = socket as tls.TLSSocket;
    this.handshaking = tlsSocket;
    const deadline = setTimeout(() => abortHandshake(tlsSocket), this.budgets.tlsHandshakeTimeoutMs);
    deadline.unref();
    const done = () => {
      clearTimeout(deadline);
      this.handshaking = undefined;
    };
    tlsSocket.once('secure', done);
    tlsSocket.once('close', done);
  }

  /** Ends a STARTTLS handshake in progress, to give its slot to a new client; false when none runs. */
  abortHandshake(): boolean {
    if (!this.handshaking) return false;
    abortHandshake(this.handshaking);
    return true;
  }

  /** Between MAIL FROM and the reply to the end of DATA. */
  inTransaction(): boolean {
    return Boolean(this.session.envelope?.mailFrom) || Boolean(this._dataStream) || this._handlerPending;
  }

  override send(code: number, data?: string | string[] | null, context?: string | false): void {
    // Every reply hands the turn to the client, so its budget for the next line starts now:
    // counted from the command before, a slow upload or a slow handler ate into it.
    this.armCommandBudget();
    let text = data;
    let ctx = context;
    if (code === 538) text = SmtpReply.encryptionRequiredForAuth().message;
    else if (code === 530 && !this.secure) text = SmtpReply.mustStartTls().message;
    else if (code === 530 && typeof text === 'string' && !ENHANCED_CODE.test(text)) text = SmtpReply.authRequired().message;
    // smtp-server's SIZE= check at MAIL FROM; the body itself is measured by DataGuard.
    else if (context === 'MESSAGE_TOO_BIG') text = SmtpReply.messageTooBig(Number(this._server.options.size)).message;
    else if (context === 'TOO_MANY_RECIPIENTS') text = SmtpReply.tooManyRecipients().message;
    if (code === 250 && Array.isArray(text) && !this.secure) text = text.filter((line) => !line.startsWith('AUTH '));
    if (typeof text === 'string' && ENHANCED_CODE.test(text)) ctx = false;
    super.send(code, text, ctx);
  }

  /** Called once its socket has closed; a STARTTLS upgrade drops the raw socket's own listeners, so the slot is released here. */
  releaseSlot: (() => void) | undefined;

  override _onClose(): void {
    super._onClose();
    this.releaseSlot?.();
  }

  override close(): void {
    clearTimeout(this.commandTimer);
    clearTimeout(this.dataTimer);
    super.close();
  }

  private armCommandBudget(): void {
    clearTimeout(this.commandTimer);
    // Replies can still be sent while closing (a verdict on a message cut short); no budget then.
    if (this._closing || this._closed) return;
    this.commandTimer = setTimeout(() => {
      // Time spent waiting for us (a handler, or our verdict on a message whose end has
      // arrived) or inside DATA (which has its own budget) is not the client's.
      if (this._closing || this._closed) return;
      if (this._handlerPending || this._dataStream) return this.armCommandBudget();
      const reply = SmtpReply.commandTimeout();
      this.send(reply.code, reply.message);
    }, this.budgets.commandTimeoutMs);
    this.commandTimer.unref();
  }

  private armDataBudget(): void {
    clearTimeout(this.dataTimer);
    this.dataTimer = setTimeout(() => {
      if (this._closing || this._closed || !this.inDataMode()) return;
      const reply = SmtpReply.dataTimeout();
      this.send(reply.code, reply.message);
    }, this.budgets.dataTimeoutMs);
    this.dataTimer.unref();
  }

  private inDataMode(): boolean {
    return this._parser !== false && this._parser._dataMode;
  }
}

export class GatewaySmtpServer extends SMTPServer {
  private readonly budgets: SessionBudgets;
  draining = false;

  /** Where the refusals made here, before any session handler runs, are logged and counted. */
  readonly refusals: RefusalSink;

  /** Shared by the listeners of the process: the limit is per client, not per port. */
  private readonly perAddress: ConnectionsPerAddress;
  private readonly slots = new WeakMap<net.Socket, () => void>();

  constructor(options: SMTPServerOptions, budgets: SessionBudgets, refusals: RefusalSink, perAddress: ConnectionsPerAddress) {
    super(options);
    this.budgets = budgets;
    this.refusals = refusals;
    this.perAddress = perAddress;
  }

  refused(address: string | undefined, reply: SmtpReply): void {
    this.refusals.log.warn({ event: 'smtp.connect', ip: address, reply: reply.toString() }, 'connection refused');
    this.refusals.observe?.refused('connect', reply);
  }

  /**
   * A client over smtp.maxConnectionsPerIp is told 421 at once on the submission port; on the
   * implicit TLS port nothing can be said before a handshake, which the client over its limit is
   * not given (it would cost us the CPU the limit protects): the socket is closed.
   */
  private takeSlot(socket: net.Socket, handshake: boolean): boolean {
    const release = this.perAddress.take(socket.remoteAddress);
    if (release) {
      this.slots.set(socket, release);
      socket.once('close', release);
      return true;
    }
    const reply = SmtpReply.tooManyConnectionsFromAddress();
    this.refused(socket.remoteAddress, reply);
    socket.on('error', () => undefined);
    if (handshake) socket.destroy();
    else socket.end(`${reply.toString()}\r\n`);
    return false;
  }

  /**
   * smtp-server guards the implicit TLS handshake only with the idle timer, which every byte
   * of a trickled ClientHello resets, and refuses new sockets once maxClients handshakes are
   * pending, so stalled handshakes would lock real clients out. Here each handshake has a
   * fixed deadline, and a full pool makes room by dropping its oldest handshake: a stalled
   * one is always older than a real client's, which completes in milliseconds.
   */
  override _acceptSocket(socket: net.Socket, handshake: boolean): (() => void) | false {
    if (!this.takeSlot(socket, handshake)) return false;
    const max = this.options.maxClients;
    if (handshake && max && this._pendingSockets.size >= max) this.dropOldestHandshake();
    const release = super._acceptSocket(socket, handshake);
    if (!release || !handshake) return release;
    // The TLS socket on top once the handshake has started; destroying the raw one under it crashes Node.
    const deadline = setTimeout(() => abortHandshake(this._pendingSockets.get(socket) ?? socket), this.budgets.tlsHandshakeTimeoutMs);
    deadline.unref();
    socket.once('close', () => clearTimeout(deadline));
    return () => {
      clearTimeout(deadline);
      release();
    };
  }

  private dropOldestHandshake(): void {
    const oldest = this._pendingSockets.entries().next().value;
    if (!oldest) return;
    this._pendingSockets.delete(oldest[0]);
    abortHandshake(oldest[1]);
  }

  /**
   * A full listener makes room for a new client by ending its oldest STARTTLS handshake
   * still in progress, if there is one: a session stalled in its handshake holds a slot
   * only until a client that talks needs it.
   */
  yieldStalledHandshake(): void {
    for (const connection of this.connections) {
      if (connection instanceof GatewayConnection && connection.abortHandshake()) {
        // Its close event comes later; the slot is free now.
        this.connections.delete(connection);
        return;
      }
    }
  }

  override connect(socket: net.Socket | tls.TLSSocket, socketOptions?: ConstructorParameters<typeof SMTPConnection>[2]): void {
    const connection = new GatewayConnection(this, socket, socketOptions, this.budgets);
    // Only the submission port's socket is the accepted one; an implicit TLS socket's slot goes with the raw socket under it.
    connection.releaseSlot = this.slots.get(socket);
    this.connections.add(connection);
    connection.on('error', (err: Error) => this._onError(err));
    connection.on('connect', (data) => this._onClientConnect(data));
    connection.init();
  }

  /**
   * Stops accepting connections at once; sessions in the middle of a transaction get up
   * to graceMs to finish it, idle ones are told 421 now, and whatever remains at the end
   * is told 421 and closed. Mail not yet answered with 250 stays the client's to retry.
   */
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    const listening = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const deadline = Date.now() + graceMs;
    for (;;) {
      for (const connection of this.connections) {
        if (connection instanceof GatewayConnection && !connection.inTransaction()) {
          const reply = SmtpReply.shuttingDown();
          connection.send(reply.code, reply.message);
        }
      }
      if (this.connections.size === 0 || Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    for (const connection of this.connections) {
      const reply = SmtpReply.shuttingDown();
      connection.send(reply.code, reply.message);
    }
    await listening;
  }
}

function abortHandshake(socket: net.Socket): void {
  const err = Object.assign(new Error('TLS handshake not completed in time'), { code: 'ERR_TLS_HANDSHAKE_TIMEOUT' });
  if (!socket.destroyed) socket.destroy(err);
}
