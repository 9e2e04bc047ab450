import type { Database } from '../store/tables.js';

// Apart from addresses.ts so that the CLI can offer the kinds in --help without loading the directory.
export type AddressKind = Database['addresses']['kind'];
export const ADDRESS_KINDS: readonly AddressKind[] = ['support', 'functional'];
