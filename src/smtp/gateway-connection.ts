import type net from 'node:net';
import type tls from 'node:tls';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { ENHANCED_CODE, SmtpReply } from './reply.js';

export interface SessionBudgets {
  /**
   * Longest a client may take to send one command line, counted from our previous reply
   * (when the turn passed to the client); a trickling client is cut off.
   */
  commandTimeoutMs: number;
  /** Longest a client may take from DATA to the end-of-data mark. */
  dataTimeoutMs: number;
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
 * the gateway uses, so one limit reads the same wherever it is hit.
 */
class GatewayConnection extends SMTPConnection {
  private readonly budgets: SessionBudgets;
  private commandTimer: NodeJS.Timeout | undefined;
  private dataTimer: NodeJS.Timeout | undefined;

  constructor(server: SMTPServer, socket: net.Socket | tls.TLSSocket, options: ConstructorParameters<typeof SMTPConnection>[2], budgets: SessionBudgets) {
    super(server, socket, options);
    this.budgets = budgets;
  }

  override init(): void {
    this._setListeners(() => {
      const max = this._server.options.maxClients;
      if (max && this._server.connections.size > max) {
        this.send(421, `${this.name} Too many connected clients, try again in a moment`, false);
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

  constructor(options: SMTPServerOptions, budgets: SessionBudgets) {
    super(options);
    this.budgets = budgets;
  }

  override connect(socket: net.Socket | tls.TLSSocket, socketOptions?: ConstructorParameters<typeof SMTPConnection>[2]): void {
    const connection = new GatewayConnection(this, socket, socketOptions, this.budgets);
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
