// Apart from inbound-targets.ts so that the CLI's --help can show it without loading the directory.
/** How long a webhook's previous secret keeps signing after a rotation: long enough for an application to deploy its new secret. */
export const DEFAULT_ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000;
