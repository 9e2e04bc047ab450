import type { SenderPolicy } from '../../policy/sender-policy.js';
import type { Spool } from '../../queue/spool.js';
import type { RouteKind } from '../accept.js';
import { headerFrom } from '../header-from.js';
import { subjectOf } from '../header-subject.js';
import { tlsRequiredOf } from '../tls-required.js';

/** What a submission needs besides the acceptance context: where its body goes, and who may be its header From. */
export interface SubmissionDeps {
  spool: Spool;
  /** Decides the header From once the message is in (the envelope sender was decided at MAIL FROM). */
  senderPolicy: SenderPolicy;
}

/** A submission routed `relay`: the body stored as sent, the header From checked, TLS-Required and Subject recorded. */
export function plainRoute(deps: SubmissionDeps): RouteKind {
  return {
    async open(id, _now, draft) {
      const writer = await deps.spool.create(id);
      return {
        writer,
        asSent: [],
        asStored: [],
        bodyRead: async () => undefined,
        checkHeaders: (headers) => checkHeaderFrom(deps.senderPolicy, draft.credentialId, headers),
        record: async (headers) => ({ row: { tlsRequired: tlsRequiredOf(draft.envelope, headers), subject: subjectOf(headers) } }),
        abandon: () => undefined,
        close: () => undefined,
      };
    },
  };
}

export async function checkHeaderFrom(policy: SenderPolicy, credentialId: string | null, headers: Buffer): Promise<void> {
  const from = headerFrom(headers);
  if ('refusal' in from) throw from.refusal;
  const objection = await policy.checkHeaderFrom(credentialId ?? '', from.addresses);
  if (objection) throw objection;
}
