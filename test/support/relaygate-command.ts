import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * How the tests run `relaygate`: scripts/run-tests.mjs builds dist/ first and sets
 * RELAYGATE_TEST_BUILT=1, and every child then runs the compiled CLI, as `npx relaygate`
 * would; a test file run on its own (node --import tsx --test FILE) runs the sources under
 * tsx. tsx compiles each child's whole import graph again, some 1.5 s a command here.
 */
export function relaygateArgv(): string[] {
  if (process.env.RELAYGATE_TEST_BUILT !== '1') return ['--import', 'tsx', join(ROOT, 'src', 'main.ts')];
  const bin = join(ROOT, 'bin', 'relaygate.js');
  if (!existsSync(join(ROOT, 'dist', 'main.js'))) throw new Error('RELAYGATE_TEST_BUILT=1 but dist/main.js is missing: run npm run build');
  return [bin];
}
