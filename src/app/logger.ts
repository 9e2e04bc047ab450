import pino, { type Logger } from 'pino';

/**
 * JSON lines on stdout; secrets never reach a log line (the redaction is a second fence:
 * no code logs a password or secret on purpose).
 */
export function createLogger(level: string, destination: pino.DestinationStream | undefined = undefined): Logger {
  const options = {
    level,
    base: { service: 'relaygate' },
    redact: { paths: ['password', 'secret', '*.password', '*.secret', 'auth.pass'], censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}
