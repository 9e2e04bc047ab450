/** One command of an SMTP session and the reply it got (null while none came). */
export interface Exchange {
  /** 'greeting', or the command verb: EHLO, STARTTLS, AUTH PLAIN, QUIT. Never its arguments. */
  command: string;
  reply: string | null;
}

// Only these verbs are recorded; arguments (and AUTH continuation lines, which carry
// credentials) are dropped before anything is kept.
const COMMAND = /^(EHLO|HELO|LHLO|STARTTLS|QUIT|AUTH [A-Z0-9_-]+)(?: |$)/i;

/**
 * The commands and replies of one SMTPConnection, taken from its transaction log (the
 * `logger` + `transactionLog` options): a reply belongs to the last command sent before it,
 * and the first reply, before any command, is the greeting.
 */
export class Transcript {
  readonly exchanges: Exchange[] = [{ command: 'greeting', reply: null }];

  /** A bunyan-style logger for SMTPConnection; only debug carries the transaction log. */
  readonly logger = {
    debug: (entry: unknown, message: unknown) => this.record(entry, message),
    trace: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: () => undefined,
    fatal: () => undefined,
  };

  /** The nth exchange (0 = first) whose command starts with `command`. */
  find(command: string, nth = 0): Exchange | undefined {
    return this.exchanges.filter((e) => e.command.startsWith(command))[nth];
  }

  private record(entry: unknown, message: unknown): void {
    if (typeof message !== 'string' || typeof entry !== 'object' || entry === null) return;
    const direction = Reflect.get(entry, 'tnx');
    if (direction === 'client') {
      const verb = COMMAND.exec(message)?.[1];
      if (verb) this.exchanges.push({ command: verb.toUpperCase(), reply: null });
    } else if (direction === 'server') {
      // AUTH LOGIN prompts (334) are replaced by the final reply: the last one is the answer.
      const last = this.exchanges.at(-1);
      if (last) last.reply = message;
    }
  }
}
