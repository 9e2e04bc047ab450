// Apart from secure-settings.ts so that the CLI's --help can show it without loading the store.
/** Ten years: beyond that a retention period is a mistake, not a policy. */
export const MAX_RETENTION_DAYS = 3650;
