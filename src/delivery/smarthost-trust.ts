import { readFileSync } from 'node:fs';
import tls from 'node:tls';

/**
 * Trust anchors for smarthost connections: Node's default store plus the operator's private
 * CA file (`smarthostCaFile`). Giving `ca` to tls.connect replaces the default store, so the
 * defaults are listed too: a smarthost with a public certificate stays trusted when a
 * private CA is configured for another. Undefined (the default store alone) without a file.
 */
export function smarthostTrust(caFile: string | undefined): string | undefined {
  if (!caFile) return undefined;
  return [...defaultCaCertificates(), readFileSync(caFile, 'utf8')].join('\n');
}

/** Node 22.15+ names its default store, including system and NODE_EXTRA_CA_CERTS certificates; older Node has the bundled roots. */
function defaultCaCertificates(): readonly string[] {
  const getCACertificates: unknown = Reflect.get(tls, 'getCACertificates');
  if (typeof getCACertificates === 'function') {
    const certificates: unknown = getCACertificates.call(tls, 'default');
    if (Array.isArray(certificates)) return certificates.filter((c): c is string => typeof c === 'string');
  }
  return tls.rootCertificates;
}
