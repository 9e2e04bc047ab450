import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
// @ts-expect-error: a plain .mjs script of the lint step, without declarations
import { findViolations, imports } from '../scripts/check-layers.mjs';
import { ROOT } from './support/relaygate-command.js';
import { tempDir } from './support/temp-dir.js';

type Violations = Map<string, string>;
const check = findViolations as (root?: string) => Violations;

/** A made-up tree: `files` maps paths under src/ to their text. */
async function treeWith(files: Record<string, string>): Promise<{ path: string; cleanup(): Promise<void> }> {
  const dir = await tempDir('relaygate-layers-');
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir.path, 'src', path)), { recursive: true });
    await writeFile(join(dir.path, 'src', path), text);
  }
  return dir;
}

describe('the import rule of ARCHITECTURE.md (scripts/check-layers.mjs, run by npm run lint)', () => {
  test('the source tree keeps to it, with no exception', () => {
    const run = spawnSync(process.execPath, [join(ROOT, 'scripts', 'check-layers.mjs')], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^layers: no upward import/);
  });

  test('a store file importing the composition root fails; so does a folder cycle and Kysely outside the store', async () => {
    const tree = await treeWith({
      'app/compose.ts': 'export const compose = 1;\n',
      'store/queue.ts': "import { compose } from '../app/compose.js';\nexport const q = compose;\n",
      'pipeline/accept.ts': "import { spool } from '../queue/spool.js';\nexport const accept = spool;\n",
      'queue/spool.ts': "import { accept } from '../pipeline/accept.js';\nexport const spool = accept;\n",
      'directory/queries.ts': "import type { Kysely } from 'kysely';\nexport type K = Kysely<unknown>;\n",
      'smtp/handlers.ts': "import { SMTPServer } from 'smtp-server';\nexport const s = SMTPServer;\n",
    });
    try {
      const found = check(tree.path);
      assert.equal(found.get('src/store/queue.ts -> src/app'), 'src/store may not import the higher layer src/app');
      // Peers of one layer may import each other, but not both ways.
      assert.match(found.get('src/pipeline/accept.ts -> src/queue') ?? '', /the folders src\/pipeline, src\/queue import each other/);
      assert.match(found.get('src/queue/spool.ts -> src/pipeline') ?? '', /import each other/);
      assert.equal(found.get('src/directory/queries.ts -> kysely'), 'queries are built in src/store');
      assert.equal(found.has('src/smtp/handlers.ts -> smtp-server'), false, 'smtp-server in src/smtp is its own folder');
      assert.equal(found.size, 4, [...found.keys()].join('\n'));
    } finally {
      await tree.cleanup();
    }
  });

  test('an upward import that only names types may cross; a dynamic import counts', async () => {
    const tree = await treeWith({
      'queue/spool.ts': 'export interface Spool { x: number }\nexport const spool = 1;\n',
      'lib/types-only.ts':
        "import type { Spool } from '../queue/spool.js';\nimport { type Spool as S } from '../queue/spool.js';\nexport type T = Spool | S;\n",
      'lib/lazy.ts': "export const load = () => import('../queue/spool.js');\n",
      'lib/commented.ts': "// import { spool } from '../queue/spool.js';\n/* import { spool } from '../queue/spool.js'; */\nexport const c = 1;\n",
    });
    try {
      const found = check(tree.path);
      assert.deepEqual([...found.keys()], ['src/lib/lazy.ts -> src/queue']);
    } finally {
      await tree.cleanup();
    }
  });

  test('imports are read across lines, with default and namespace clauses', () => {
    const text =
      "import a, {\n  b,\n  type C,\n} from './x.js';\nimport * as ns from '../y.js';\nexport { z } from './z.js';\nexport type { W } from './w.js';\n";
    assert.deepEqual(imports(text), [
      { spec: './x.js', types: false },
      { spec: '../y.js', types: false },
      { spec: './z.js', types: false },
      { spec: './w.js', types: true },
    ]);
  });
});
