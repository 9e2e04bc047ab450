import type { TlsRequired } from '../model/envelope.js';
import type { TlsPolicyApplied } from '../model/outcome.js';
import type { TlsRequirement } from '../model/states.js';

/** The rule a failed check is named after in replies and logs (`dane: …`, `mta-sts: …`). */
export type TlsCheck = 'dane' | 'mta-sts' | 'tls-policy' | 'requiretls';

/** What is known of one MX host before connecting to it. */
export interface HostSecurityFacts {
  domain: string;
  mxHost: string;
  /** The MX answer (or, without MX, the NODATA that said so) was DNSSEC-validated. */
  mxSecure: boolean;
  /** From the TLSA lookup; a failed lookup never gets here (the host is skipped). */
  dane: 'usable' | 'unusable' | 'none';
  /** The domain's MTA-STS policy (mode none counts as none) and whether it lists this host. */
  mtaSts: { mode: 'enforce' | 'testing'; listsHost: boolean } | null;
  /** The operator's requirement for the domain (`relaygate tls-policy`). */
  requirement: TlsRequirement | undefined;
  tlsRequired: TlsRequired | undefined;
}

export interface ConnectPlan {
  kind: 'connect';
  policy: TlsPolicyApplied;
  /** `required`: no delivery unless STARTTLS succeeds; `opportunistic`: TLS when offered, else plaintext. */
  tls: 'required' | 'opportunistic';
  tlsRequiredBy: TlsCheck | null;
  /** How the certificate is checked: TLSA records, a CA chain to the MX name, or not at all. */
  authenticate: 'dane' | 'pkix' | 'none';
  authenticatedFor: TlsCheck | null;
  /** False: a failed check is recorded and delivery goes on (MTA-STS testing, TLS-Required: No). */
  enforce: boolean;
  /** RFC 8689 §4.2.1: MAIL FROM carries REQUIRETLS, so the server must offer it. */
  requireTlsExtension: boolean;
  /** Checks that failed before connecting without stopping delivery. */
  notes: string[];
}

export type HostTlsPlan = ConnectPlan | { kind: 'refuse'; check: TlsCheck; problem: string; permanent: boolean };

/**
 * How to reach one MX host, from the strongest rule that applies:
 * DANE (RFC 7672) wins over MTA-STS (RFC 8461 §2); the operator's per-domain requirement adds
 * to either and never weakens one; REQUIRETLS (RFC 8689 §4.2.1) demands verified TLS on top;
 * `TLS-Required: No` (RFC 8689 §5) turns DANE and MTA-STS failures into notes, never the
 * operator's own requirement. Nothing here falls back silently: a refusal names its check.
 */
export function planHostTls(f: HostSecurityFacts): HostTlsPlan {
  const relaxed = f.tlsRequired === 'no';
  if (f.requirement === 'dane' && f.dane !== 'usable') {
    const why = f.mxSecure ? '' : ' (the MX answer is not DNSSEC-signed)';
    return refuse('tls-policy', `${f.domain} requires DANE, but ${f.mxHost} has no usable DNSSEC-signed TLSA record${why}`);
  }
  const notes: string[] = [];
  if (f.mtaSts && !f.mtaSts.listsHost && f.dane !== 'usable') {
    // RFC 8461 §4.1: in enforce mode an MX host the policy does not list is not used.
    const problem = `${f.mxHost} is not an MX host the ${f.mtaSts.mode} policy of ${f.domain} lists`;
    if (f.mtaSts.mode === 'enforce' && !relaxed) return refuse('mta-sts', problem);
    notes.push(`mta-sts: ${problem}`);
  }
  if (f.tlsRequired !== 'requiretls') return basePlan(f, relaxed, notes);
  // RFC 8689 §4.2.1: the host must have been found securely (DNSSEC or an MTA-STS policy listing it).
  if (f.dane !== 'usable' && !f.mxSecure && !f.mtaSts?.listsHost) {
    return refuse('requiretls', `${f.mxHost} was not found securely: the MX answer of ${f.domain} is not DNSSEC-signed and no MTA-STS policy lists it`, true);
  }
  const base = basePlan(f, false, notes);
  const authenticate = base.authenticate === 'none' ? 'pkix' : base.authenticate;
  return {
    ...base,
    tls: 'required',
    tlsRequiredBy: base.tlsRequiredBy ?? 'requiretls',
    authenticate,
    authenticatedFor: base.enforce && base.authenticatedFor ? base.authenticatedFor : 'requiretls',
    enforce: true,
    requireTlsExtension: true,
  };
}

function basePlan(f: HostSecurityFacts, relaxed: boolean, notes: string[]): ConnectPlan {
  const override = f.requirement;
  // TLS-Required: No relaxes the recipient's policies (DANE, MTA-STS), not the operator's.
  const tls: ConnectPlan['tls'] = !relaxed || override ? 'required' : 'opportunistic';
  const plan = (p: Omit<ConnectPlan, 'kind' | 'requireTlsExtension' | 'notes'>): ConnectPlan => ({ kind: 'connect', requireTlsExtension: false, notes, ...p });
  if (f.dane === 'usable') {
    const enforce = !relaxed || override === 'dane' || override === 'verified';
    return plan({ policy: 'dane', tls, tlsRequiredBy: 'dane', authenticate: 'dane', authenticatedFor: 'dane', enforce });
  }
  if (override === 'verified') {
    return plan({ policy: 'override', tls: 'required', tlsRequiredBy: 'tls-policy', authenticate: 'pkix', authenticatedFor: 'tls-policy', enforce: true });
  }
  if (f.mtaSts?.mode === 'enforce') {
    return plan({ policy: 'mta-sts-enforce', tls, tlsRequiredBy: 'mta-sts', authenticate: 'pkix', authenticatedFor: 'mta-sts', enforce: !relaxed });
  }
  // RFC 7672 §2.2: secure TLSA records, none usable: TLS is still mandatory, without authentication.
  if (f.dane === 'unusable') return plan({ policy: 'dane', tls, tlsRequiredBy: 'dane', authenticate: 'none', authenticatedFor: null, enforce: true });
  if (f.mtaSts?.mode === 'testing') {
    // RFC 8461 §5: a testing policy is checked and reported, never enforced.
    const testingTls = override === 'tls' ? 'required' : 'opportunistic';
    return plan({
      policy: override === 'tls' ? 'override' : 'mta-sts-testing',
      tls: testingTls,
      tlsRequiredBy: override === 'tls' ? 'tls-policy' : null,
      authenticate: 'pkix',
      authenticatedFor: 'mta-sts',
      enforce: false,
    });
  }
  if (override === 'tls')
    return plan({ policy: 'override', tls: 'required', tlsRequiredBy: 'tls-policy', authenticate: 'none', authenticatedFor: null, enforce: true });
  return plan({ policy: 'opportunistic', tls: 'opportunistic', tlsRequiredBy: null, authenticate: 'none', authenticatedFor: null, enforce: true });
}

function refuse(check: TlsCheck, problem: string, permanent = false): HostTlsPlan {
  return { kind: 'refuse', check, problem: `${check}: ${problem}`, permanent };
}
