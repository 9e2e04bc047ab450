// Apart from addresses.ts so that the CLI can offer the kinds in --help without loading the directory.
export type AddressKind = 'support' | 'functional';
export const ADDRESS_KINDS: readonly AddressKind[] = ['support', 'functional'];
