import type { OAuthMechanism, OAuthTarget } from '../config/smarthost-url.js';

/** What nodemailer hands a customAuth handler (smtp-connection: sendCommand resolves with the reply). */
interface CustomAuthContext {
  sendCommand(command: string): Promise<{ status: number; response: string; code?: string }>;
}

/** The reply that ended an OAuth login, for the probe and for classify-failure (EAUTH defers). */
export class OAuthLoginError extends Error {
  code = 'EAUTH';
  command = 'AUTH';
  constructor(
    message: string,
    readonly response: string,
    readonly responseCode: number | undefined,
  ) {
    super(message);
  }
}

/**
 * The initial client response of each mechanism: Google's XOAUTH2
 * (`user=U ^A auth=Bearer T ^A ^A`) and RFC 7628 §3.1 OAUTHBEARER (a GS2 header, then the same
 * key/value pairs).
 */
export function initialResponse(mechanism: OAuthMechanism, user: string, token: string): string {
  const text = mechanism === 'XOAUTH2' ? `user=${user}\x01auth=Bearer ${token}\x01\x01` : `n,a=${user},\x01auth=Bearer ${token}\x01\x01`;
  return Buffer.from(text, 'utf8').toString('base64');
}

/**
 * A nodemailer customAuth handler. A refused token is retried once with a fresh one (it may
 * have been revoked or expired early); a second refusal fails with the provider's reply. When
 * the server answers 334 with its error JSON (RFC 7628 §3.2.2, Google does), we send the
 * dummy response it expects (`^A` for OAUTHBEARER, empty for XOAUTH2) to get the final reply.
 * The token travels only inside sendCommand, whose log line nodemailer masks.
 */
export function oauthLogin(oauth: OAuthTarget) {
  return async (ctx: CustomAuthContext): Promise<void> => {
    let last: { status: number; response: string } | undefined;
    for (const fresh of [false, true]) {
      const token = await oauth.token(fresh);
      let reply = await ctx.sendCommand(`AUTH ${oauth.mechanism} ${initialResponse(oauth.mechanism, oauth.user, token)}`);
      if (reply.status === 334) {
        const challenge = reply.response;
        reply = await ctx.sendCommand(oauth.mechanism === 'OAUTHBEARER' ? 'AQ==' : '');
        reply = { ...reply, response: `${reply.response} (${describeChallenge(challenge)})` };
      }
      if (reply.status >= 200 && reply.status < 300) return;
      last = reply;
      // A 4xx is the server's own trouble, not the token's; a fresh token would not help.
      if (reply.status >= 400 && reply.status < 500) break;
    }
    throw new OAuthLoginError(`AUTH ${oauth.mechanism} as ${oauth.user} refused`, last?.response ?? 'no reply', last?.status);
  };
}

/** The base64 JSON after 334 (status, schemes, scope), decoded for the report; never contains our token. */
function describeChallenge(reply: string): string {
  const payload = reply.replace(/^334[ -]?/, '').trim();
  const decoded = Buffer.from(payload, 'base64').toString('utf8');
  return /^[\x20-\x7e]*$/.test(decoded) && decoded !== '' ? decoded : payload;
}
