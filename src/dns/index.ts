/** DNS for the gateway: a stub resolver that is always a parameter, names, and ownership proofs. */
export { configuredResolver } from './configured-resolver.js';
export { domainNameProblem } from './domain-name.js';
export { checkOwnershipProof, type ProofCheck, type ProofOutcome, type ProofRecord, proofRecord } from './ownership-proof.js';
export type { DnsResolver, DnsResponse, Rcode } from './resolver.js';
export { parseServerAddress, type ServerAddress, systemServers } from './server-address.js';
export { type StubResolverOptions, stubResolver } from './stub-resolver.js';
