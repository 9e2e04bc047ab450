import type { DNSResolver } from 'mailauth';
import { resolvePolicy, validateMx } from 'mailauth/lib/mta-sts.js';
import { nodeStyleResolver } from '../mailauth-resolver.js';
import type { MtaStsFetcher, MtaStsPolicy, PolicyFetch } from '../mta-sts-fetch.js';
import { isLookupFailure, type Lookup, lookUpTxt } from '../records.js';
import type { DnsResolver } from '../resolver.js';
import { type FileText, type Finding, type Fix, finding, txt } from './finding.js';
import { recordsOfVersion } from './tag-list.js';

export interface MtaStsFacts {
  txt: Lookup<string>;
  /** The policy id, false without one, or why mailauth refused the records (several). */
  id: string | false | { problem: string };
  /** Fetched only when the TXT record announces a policy, as a sender does (RFC 8461 §3). */
  fetch: PolicyFetch | null;
}

export async function gatherMtaSts(resolver: DnsResolver, fetchPolicy: MtaStsFetcher, domain: string): Promise<MtaStsFacts> {
  const record = await lookUpTxt(resolver, `_mta-sts.${domain}`);
  if (record.kind !== 'ok') return { txt: record, id: false, fetch: null };
  const id = await resolvePolicy(domain, { resolver: nodeStyleResolver(resolver) as DNSResolver }).catch((error: Error & { code?: string }) => ({
    problem: error.code === 'multi_sts_records' ? 'several v=STSv1 records' : error.message,
  }));
  return { txt: record, id, fetch: typeof id === 'string' ? await fetchPolicy(domain) : null };
}

/**
 * Whether `host` matches the policy's mx patterns. mailauth's validateMx lets "*.example.com"
 * match any depth; RFC 8461 §4.1 lets the wildcard stand for the leftmost label only.
 */
export function policyCoversMx(host: string, policy: MtaStsPolicy): boolean {
  const match = validateMx(host, { mode: 'enforce', mx: policy.mx });
  if (!match.valid) return false;
  if (!match.match?.startsWith('.')) return true;
  return !host.slice(0, host.length - match.match.length).includes('.');
}

/** RFC 8461 §3.2 suggests weeks; a day is the least that keeps a sender's cache useful. */
const SHORT_MAX_AGE_SECONDS = 86_400;
const SUGGESTED_MAX_AGE_SECONDS = 604_800;
/** RFC 8461 §3.1: 1 to 32 letters and digits. */
const POLICY_ID = /^[A-Za-z0-9]{1,32}$/;

export interface MtaStsJudgement {
  finding: Finding;
  /** The policy senders apply, when the record and the policy are both valid. */
  policy: MtaStsPolicy | null;
}

export function judgeMtaSts(domain: string, facts: MtaStsFacts, mxHosts: string[], now: number): MtaStsJudgement {
  const name = `_mta-sts.${domain}`;
  const found = facts.txt.kind === 'ok' ? facts.txt.records : [];
  const none = (status: Finding['status'], summary: string, fix: Fix | null = null): MtaStsJudgement => ({
    finding: finding('mta-sts', name, status, summary, found, fix),
    policy: null,
  });
  if (isLookupFailure(facts.txt)) return none('fail', facts.txt.detail);
  const announced = recordsOfVersion(found, 'v=STSv1');
  if (announced.length === 0) return none('warn', 'no MTA-STS policy', publishPolicy(domain, mxHosts, now));
  if (typeof facts.id === 'object')
    return none('fail', `${facts.id.problem}: senders treat the domain as having no policy (RFC 8461 §3.1)`, {
      action: 'remove',
      records: [],
      how: 'keep exactly one v=STSv1 record',
    });
  if (facts.id === false || !POLICY_ID.test(facts.id))
    return none('fail', 'the record has no valid id= (1 to 32 letters and digits, RFC 8461 §3.1)', {
      action: 'replace',
      records: [txt(name, `v=STSv1; id=${policyId(now)}`)],
      how: 'give the record an id',
    });
  return judgePolicy(domain, facts.fetch, mxHosts, found);
}

function judgePolicy(domain: string, fetch: PolicyFetch | null, mxHosts: string[], found: string[]): MtaStsJudgement {
  const name = `_mta-sts.${domain}`;
  const result = (status: Finding['status'], summary: string, fix: Fix | null, policy: MtaStsPolicy | null = null) => ({
    finding: finding('mta-sts', name, status, summary, found, fix),
    policy,
  });
  if (fetch?.kind !== 'ok') {
    const detail = fetch ? fetch.detail : 'the policy was not fetched';
    return result('fail', `the record announces a policy, but ${detail}`, {
      action: 'change',
      records: [],
      how: `serve the policy at https://mta-sts.${domain}/.well-known/mta-sts.txt with a certificate for mta-sts.${domain} from a public CA, or remove the ${name} record`,
    });
  }
  const { policy } = fetch;
  const summary = `mode ${policy.mode}, max_age ${policy.maxAgeSeconds} s, mx ${policy.mx.join(', ') || '(none)'}`;
  const issues = policyIssues(policy, fetch.contentType, mxHosts);
  if (issues.length === 0) return result('pass', `${summary}: every MX host is covered`, null, policy);
  const status = issues.some((issue) => issue.status === 'fail') ? 'fail' : 'warn';
  const changesPolicy = issues.some((issue) => issue.changesPolicy);
  const how = issues.map((issue) => issue.fix).join('; ') + (changesPolicy ? `; then change the id in ${name} so senders fetch it again` : '');
  const uncovered = mxHosts.filter((host) => !policyCoversMx(host, policy));
  const better = { mode: 'enforce' as const, mx: [...policy.mx, ...uncovered], maxAgeSeconds: Math.max(policy.maxAgeSeconds, SUGGESTED_MAX_AGE_SECONDS) };
  return result(
    status,
    `${summary}: ${issues.map((issue) => issue.text).join('; ')}`,
    { action: 'change', records: [], how, file: policyFile(domain, better) },
    policy,
  );
}

interface PolicyIssue {
  status: 'fail' | 'warn';
  text: string;
  fix: string;
  changesPolicy: boolean;
}

function policyIssues(policy: MtaStsPolicy, contentType: string, mxHosts: string[]): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  const uncovered = mxHosts.filter((host) => !policyCoversMx(host, policy));
  if (uncovered.length > 0)
    issues.push({
      status: policy.mode === 'enforce' ? 'fail' : 'warn',
      text: `${uncovered.join(', ')} not listed${policy.mode === 'enforce' ? ', so senders that enforce MTA-STS do not deliver to it' : ''}`,
      fix: `list ${uncovered.join(', ')}`,
      changesPolicy: true,
    });
  if (policy.mode === 'testing')
    issues.push({
      status: 'warn',
      text: 'senders report TLS failures but deliver anyway',
      fix: 'set "mode: enforce" once the TLS reports show no failures',
      changesPolicy: true,
    });
  if (policy.mode === 'none') issues.push({ status: 'warn', text: 'the policy is withdrawn', fix: 'set "mode: enforce"', changesPolicy: true });
  if (policy.maxAgeSeconds < SHORT_MAX_AGE_SECONDS)
    issues.push({
      status: 'warn',
      text: 'max_age is under a day: a sender whose next fetch is blocked soon has no policy left',
      fix: `set "max_age: ${SUGGESTED_MAX_AGE_SECONDS}" or more (RFC 8461 §3.2)`,
      changesPolicy: true,
    });
  if (!/^text\/plain\b/i.test(contentType))
    issues.push({
      status: 'warn',
      text: `served as "${contentType}" instead of text/plain (RFC 8461 §3.2)`,
      fix: 'serve it as text/plain',
      changesPolicy: false,
    });
  return issues;
}

function publishPolicy(domain: string, mxHosts: string[], now: number): Fix {
  return {
    action: 'publish',
    records: [txt(`_mta-sts.${domain}`, `v=STSv1; id=${policyId(now)}`)],
    how: `publish the record and serve the policy with a certificate for mta-sts.${domain} from a public CA (start with "mode: testing" if unsure)`,
    file: policyFile(domain, { mode: 'enforce', mx: mxHosts.length > 0 ? mxHosts : ['<MX host>'], maxAgeSeconds: SUGGESTED_MAX_AGE_SECONDS }),
  };
}

/** The policy file with `policy`'s values (RFC 8461 §3.2), lines ending in CRLF as the RFC's ABNF has them. */
export function policyFile(domain: string, policy: MtaStsPolicy): FileText {
  const lines = ['version: STSv1', `mode: ${policy.mode}`, ...policy.mx.map((h) => `mx: ${h}`), `max_age: ${policy.maxAgeSeconds}`];
  return { url: `https://mta-sts.${domain}/.well-known/mta-sts.txt`, contentType: 'text/plain', content: lines.map((line) => `${line}\r\n`).join('') };
}

/** A date-time id (RFC 8461 §3.1 suggests one), e.g. 20261121T103000. */
const policyId = (now: number) => new Date(now).toISOString().replace(/[-:]/g, '').slice(0, 15);
