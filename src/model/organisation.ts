/** The organisation every installation has (migration 0002 creates it); one organisation per gateway today. */
export const DEFAULT_ORGANISATION_ID = 'org_default';
