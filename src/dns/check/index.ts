/** The DNS checker: what a domain publishes, judged against what the gateway needs of it, and the direct-delivery verdict. */
export { checkDomain, type DomainChecker, type DomainCheckerDeps, domainChecker } from './check-domain.js';
export { checkDirectDelivery, type DirectDeliveryProofDeps } from './direct-delivery-proof.js';
export type { DkimSelectorsFor, GatewayDkimSelector } from './dkim.js';
export type { CheckName, CheckStatus, DirectDeliveryLevel, DirectDeliveryVerdict, DomainCheck, FileText, Finding, Fix, RecordText } from './finding.js';
