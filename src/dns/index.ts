/** DNS for the gateway: a stub resolver that is always a parameter (AD bit included), a cache, typed MX/A/AAAA/TLSA/TXT lookups, MTA-STS policy fetches, names, and ownership proofs. */

export { type CachingResolver, type CachingResolverOptions, cachingResolver } from './caching-resolver.js';
export { configuredResolver } from './configured-resolver.js';
export { domainNameProblem } from './domain-name.js';
export { type MtaStsFetcher, type MtaStsFetchOptions, type MtaStsPolicy, mtaStsFetcher, type PolicyFetch } from './mta-sts-fetch.js';
export { checkOwnershipProof, type ProofCheck, type ProofOutcome, type ProofRecord, proofRecord } from './ownership-proof.js';
export {
  isLookupFailure,
  isNullMx,
  type Lookup,
  type LookupDenial,
  type LookupFailure,
  lookUpA,
  lookUpAaaa,
  lookUpMx,
  lookUpTlsa,
  lookUpTxt,
  type MxRecord,
  type TlsaRecord,
  tlsaName,
  tlsaText,
} from './records.js';
export type { DnsResolver, DnsResponse, Rcode } from './resolver.js';
export { parseServerAddress, type ServerAddress, systemServers } from './server-address.js';
export { type StubResolverOptions, stubResolver } from './stub-resolver.js';
