import { randomBytes } from 'node:crypto';
import { composeMail } from '../secure/compose.js';
import type { SecureMeta } from '../secure/vault.js';

/**
 * The one-time code, from the secure message's sending address like the notification (same
 * outbound connection, same DKIM domain), and nothing of the message but who sent it.
 */
export async function codeMail(o: { meta: SecureMeta; recipient: string; code: string; validMinutes: number; hostname: string; now: number }): Promise<Buffer> {
  const who = o.meta.fromName || o.meta.fromAddress;
  const text = [
    `Your code to open the secure message from ${who}:`,
    '',
    `    ${o.code}`,
    '',
    `It can be used once, within ${o.validMinutes} minutes.`,
    'If you did not ask for it, ignore this mail: without the code nobody can open the message.',
    '',
  ].join('\n');
  return composeMail({
    from: { name: o.meta.fromName, address: o.meta.fromAddress },
    to: o.recipient,
    subject: `Your code for the secure message from ${who}`,
    text,
    messageId: `<code.${randomBytes(12).toString('hex')}@${o.hostname}>`,
    date: new Date(o.now),
    headers: { 'Auto-Submitted': 'auto-generated', 'X-Auto-Response-Suppress': 'All' },
  });
}
