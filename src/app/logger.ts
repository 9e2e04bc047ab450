import pino, { type Logger } from 'pino';
import { prettyDestination } from './pretty-log.js';

export type LogFormat = 'auto' | 'json' | 'pretty';

/**
 * Keys that could carry a secret or a message body, wherever a log call puts them (at the top
 * or one level down). A second fence: no code logs a password, a secret or a body on purpose.
 * pino's `*` matches one level, so the deeper paths that exist are listed by name.
 */
export const REDACTED_PATHS = [
  ...[
    'password',
    'pass',
    'secret',
    'secrets',
    'token',
    'apiKey',
    'authorization',
    'cookie',
    'masterKey',
    'previousMasterKeys',
    'credentialHashKey',
    'auditKey',
    'databaseUrl',
    'body',
    'raw',
  ].flatMap((key) => [key, `*.${key}`]),
  'req.headers.authorization',
  'req.headers.cookie',
  'request.headers.authorization',
  'request.headers.cookie',
  'auth.credentials.pass',
];

/**
 * JSON lines on stdout, one object per event (`pretty` turns them into readable lines for a
 * terminal; `auto` does that when stdout is one). `destination` replaces stdout (tests).
 */
export function createLogger(level: string, destination: pino.DestinationStream | undefined = undefined, format: LogFormat = 'json'): Logger {
  const options = {
    level,
    base: { service: 'relaygate' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  const out = destination ?? process.stdout;
  const pretty = format === 'pretty' || (format === 'auto' && destination === undefined && process.stdout.isTTY === true);
  if (pretty) return pino(options, prettyDestination(out, { colour: destination === undefined && process.stdout.isTTY === true }));
  return destination ? pino(options, destination) : pino(options);
}
