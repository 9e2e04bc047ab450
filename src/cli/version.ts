import { readFileSync } from 'node:fs';

/**
 * The version in the package's package.json, two levels above this module: src/cli/ under
 * tsx, dist/cli/ when built, node_modules/relaygate/dist/cli/ when installed (the package
 * ships bin/, dist/ and package.json).
 */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') throw new Error('package.json has no version');
  return pkg.version;
}

/** The flags commander's program.version() declares in index.ts, alone on the command line. */
export function isVersionOnly(args: readonly string[]): boolean {
  return args.length === 1 && (args[0] === '--version' || args[0] === '-V');
}
