import { domainToASCII, domainToUnicode } from 'node:url';
import { parseList } from '../lib/json-list.js';
import { type SenderRefusal, SmtpReply } from '../model/smtp-reply.js';
import type { SenderPolicy } from '../policy/sender-policy.js';
import type { DirectoryContext } from './context.js';
import { credentialState } from './credential-model.js';
import { type MailAddress, senderListAllows, splitAddress } from './sender-list.js';
import type { SenderStore } from './sender-store.js';

interface Submitter {
  organisationId: string;
  allowedSenders: string[] | null;
}

type Refuse = (address: string, reason: SenderRefusal, cause: string) => SmtpReply;

/**
 * Which senders a submission credential may use, as envelope sender (MAIL FROM) and as
 * header From: any address in a VERIFIED domain of its organisation (registered addresses
 * and aliases live in those domains, so they pass too), narrowed by the credential's
 * allow-list when it has one. Anything else would make the gateway a relay for forged
 * mail under someone else's domain. An inbound or unknown credential submits nothing.
 * Every check reads the store, so a revoked credential or an unverified domain takes
 * effect at the next transaction.
 */
export function senderAuthorization(stores: { senders: SenderStore }, deps: Pick<DirectoryContext, 'clock'>): SenderPolicy {
  const { senders } = stores;
  const { clock } = deps;

  async function submitter(credentialId: string): Promise<Submitter | SmtpReply> {
    const row = await senders.submitter(credentialId);
    if (!row) return SmtpReply.submissionNotAllowed('unknown-credential', `no credential ${credentialId || '(none)'}`);
    if (row.kind !== 'submission') return SmtpReply.submissionNotAllowed('inbound-credential', `credential ${credentialId} is ${row.kind}`);
    const state = credentialState({ revoked_at: row.revokedAt, expires_at: row.expiresAt, retire_at: row.retireAt }, clock.now());
    if (state !== 'active' && state !== 'retiring') return SmtpReply.submissionNotAllowed('credential-not-valid', `credential ${credentialId} is ${state}`);
    return { organisationId: row.organisationId, allowedSenders: parseList(row.allowedSendersJson) };
  }

  async function check(who: Submitter, address: string, refuse: Refuse): Promise<SmtpReply | undefined> {
    const parsed = splitAddress(address);
    if (!parsed) return refuse(address, 'not-an-address', 'no local part or domain');
    const domainProblem = await verifiedDomainProblem(senders, who.organisationId, parsed);
    if (domainProblem) return refuse(address, domainProblem.reason, domainProblem.detail);
    if (who.allowedSenders && !senderListAllows(who.allowedSenders, parsed))
      return refuse(address, 'not-in-allowed-senders', `allowed senders: ${who.allowedSenders.join(', ')}`);
    return undefined;
  }

  return {
    async checkMailFrom(credentialId, mailFrom) {
      const who = await submitter(credentialId);
      if (who instanceof SmtpReply) return who;
      // RFC 5321 §4.5.5: the null reverse-path is how notifications (DSNs, auto-replies)
      // avoid loops; it claims no sender, so there is nothing to authorise here. The header
      // From of such a message is still checked after DATA.
      if (mailFrom === '') return undefined;
      return check(who, mailFrom, SmtpReply.senderNotAllowed);
    },

    async checkHeaderFrom(credentialId, fromAddresses) {
      const who = await submitter(credentialId);
      if (who instanceof SmtpReply) return who;
      for (const address of fromAddresses) {
        const objection = await check(who, address, SmtpReply.headerFromNotAllowed);
        if (objection) return objection;
      }
      return undefined;
    },
  };
}

/**
 * Undefined when the domain is verified for the organisation; otherwise why not, for the
 * log only: the client is not told whether another organisation claims the domain.
 * Domains are matched exactly: a subdomain needs its own claim. Both the A-label and the
 * U-label form are tried, since an SMTPUTF8 sender (RFC 6531) may use either.
 */
async function verifiedDomainProblem(
  senders: SenderStore,
  organisationId: string,
  address: MailAddress,
): Promise<{ reason: SenderRefusal; detail: string } | undefined> {
  const names = [...new Set([address.domain, domainToASCII(address.domain), domainToUnicode(address.domain)].filter(Boolean))];
  const rows = await senders.domainsNamed(names);
  const own = rows.find((r) => r.organisationId === organisationId);
  const notVerified = (detail: string) => ({ reason: 'domain-not-verified' as const, detail });
  // A disconnect stops new outbound mail at once; what is queued still leaves.
  if (own?.status === 'verified' && own.connectorState !== 'connected')
    return { reason: 'domain-disconnected', detail: `domain ${own.name} is ${own.connectorState}` };
  if (own?.status === 'verified') return undefined;
  if (own) return notVerified(`domain ${own.name} is ${own.status}, not verified`);
  if (rows.length > 0) return notVerified(`domain ${address.domain} belongs to another organisation`);
  return notVerified(`domain ${address.domain} is not claimed`);
}
