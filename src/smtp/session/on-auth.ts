import type { SMTPServerAuthentication, SMTPServerSession } from 'smtp-server';
import type { Credential, CredentialDirectory } from '../../directory/credentials.js';
import { SmtpReply } from '../../model/smtp-reply.js';
import type { AuthAttempt } from '../auth-user-lock.js';
import type { Principal } from '../relay-identity.js';
import type { Callback, SessionState } from './session-state.js';

/** AUTH: the locks are asked first, the secret only then; a success is remembered as the session's principal. */
export function onAuth(state: SessionState) {
  const { deps } = state;
  const { log } = deps;
  const observe = deps.observe;

  /** Never rejects: every outcome, a local error included, is a principal or a reply. */
  async function decideAuth(auth: SMTPServerAuthentication, session: SMTPServerSession): Promise<Principal | SmtpReply> {
    const ip = session.remoteAddress;
    const username = auth.username ?? '';
    const facts = { ip, username, mechanism: auth.method, session: session.id };
    // smtp-server takes the authzid as the user name when the authcid is empty: then they are one identity.
    if (auth.method === 'PLAIN' && auth.authzid && auth.authzid !== username) {
      log.warn({ ...facts, authzid: auth.authzid }, 'auth refused: authorization identity differs from the authentication identity');
      observe?.auth(auth.method, 'authzid-refused');
      return SmtpReply.authorizationIdentityRefused();
    }
    let attempt: AuthAttempt;
    try {
      attempt = { username, ip, outsideAllowedNetworks: await deps.credentials.outsideAllowedNetworks(username, ip) };
      const locked = await lockedBy(attempt);
      if (locked) {
        log.warn({ ...facts, lockedBy: locked }, 'auth throttled');
        observe?.auth(auth.method, 'throttled');
        return SmtpReply.authThrottled();
      }
    } catch (err) {
      // Fails closed: without the count, a guesser would get unlimited attempts while the store is down.
      log.error({ ...facts, err }, 'auth refused for now: failed attempts could not be read');
      observe?.auth(auth.method, 'error');
      return SmtpReply.authUnavailable();
    }
    let outcome: Awaited<ReturnType<CredentialDirectory['verify']>>;
    try {
      outcome = await deps.credentials.verify(username, auth.password ?? '', ip);
    } catch (err) {
      log.error({ ...facts, err }, 'auth not decided: local error');
      observe?.auth(auth.method, 'error');
      return SmtpReply.forLocalFailure(err);
    }
    if (!outcome.ok) {
      log.warn({ ...facts, reason: outcome.reason, detail: outcome.detail }, 'auth failed');
      observe?.auth(auth.method, outcome.reason);
      // Counted before the reply, so that the client's next attempt already meets it.
      await Promise.all([deps.throttleByIp.recordFailure(ip), deps.userLock.recordFailure(attempt)]).catch((err: unknown) =>
        log.error({ ...facts, err }, 'failed auth not counted: local error'),
      );
      return SmtpReply.authFailed();
    }
    return authenticated(outcome.credential, attempt, facts);
  }

  /** Which lock refuses this attempt without checking its secret, if any. */
  async function lockedBy(attempt: AuthAttempt): Promise<'address' | 'user name' | undefined> {
    const [byIp, byUser] = await Promise.all([deps.throttleByIp.isBlocked(attempt.ip), deps.userLock.isLocked(attempt)]);
    return byIp ? 'address' : byUser ? 'user name' : undefined;
  }

  async function authenticated(credential: Credential, attempt: AuthAttempt, facts: Record<string, string>): Promise<Principal> {
    const line = { ip: attempt.ip, credentialId: credential.id, session: facts.session };
    // A rotated-out credential still works until its retire-at time; its use shows
    // in `credential show`, and here, so the operator can find the client still on it.
    if (credential.state === 'retiring') log.warn(line, 'auth ok with a credential being retired');
    else log.info(line, 'auth ok');
    observe?.auth(facts.mechanism ?? '', 'success');
    // Not remembering the source only leaves it exposed to the user-name lock, as before it authenticated.
    await deps.userLock.recordSuccess(attempt).catch((err: unknown) => log.error({ ...facts, err }, 'known auth source not recorded: local error'));
    return { credentialId: credential.id, kind: credential.kind, domainId: credential.domainId, domain: credential.domain };
  }

  return (auth: SMTPServerAuthentication, session: SMTPServerSession, callback: Callback<{ user: Principal }>): void => {
    decideAuth(auth, session).then((decision) => (decision instanceof SmtpReply ? callback(decision) : callback(null, { user: decision })));
  };
}
