import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
// @ts-expect-error: a plain .mjs script of the lint step, without declarations
import { longFunctions } from '../scripts/check-function-length.mjs';
import { ROOT } from './support/relaygate-command.js';
import { tempDir } from './support/temp-dir.js';

type Long = { name: string; line: number; lines: number };
const long = longFunctions as (text: string, max?: number) => Long[];
const SCRIPT = join(ROOT, 'scripts', 'check-function-length.mjs');

/** A function of `bodyLines` statements; its head and closing brace add two lines. */
function functionOf(name: string, bodyLines: number): string {
  return `export function ${name}(): number {\n${'  let n = 0;\n'.repeat(bodyLines)}  return 0;\n}\n`;
}

describe('the function length rule of src/app (scripts/check-function-length.mjs, run by npm run lint)', () => {
  test('the source tree keeps to it', () => {
    const run = spawnSync(process.execPath, [SCRIPT], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^function length: every function in src\/app within 80 lines/);
  });

  test('a function of 81 lines in src/app fails the lint step, naming the file, the line and the length', async () => {
    const dir = await tempDir('relaygate-function-length-');
    try {
      await mkdir(join(dir.path, 'src', 'app'), { recursive: true });
      await writeFile(join(dir.path, 'src', 'app', 'short.ts'), functionOf('short', 77));
      await writeFile(join(dir.path, 'src', 'app', 'long.ts'), `// one line before\n${functionOf('tooLong', 78)}`);
      const run = spawnSync(process.execPath, [SCRIPT, dir.path], { encoding: 'utf8' });
      assert.equal(run.status, 1);
      assert.match(run.stderr, /^function length: 1 function\(s\) in src\/app over 80 lines/);
      assert.match(run.stderr, /\n {2}src\/app\/long\.ts:2 tooLong \(81 lines\)\n/);
    } finally {
      await dir.cleanup();
    }
  });

  test('bodies are told from braces in strings, templates, regular expressions, comments and return types', () => {
    const text = [
      'const f = async (a: string): Promise<{ x: number }> => {', // 1: an arrow with an object type in its return type
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the text of a template literal, as the checker reads it
      '  const s = `${"{"}${a.replace(/\\{/g, "}")}`;', // 2: braces in a template, a string and a regular expression
      '  // } {',
      '  return { x: s.length };',
      '};',
      'class C {',
      '  method(): { y: number } {', // 7: a method whose return type is a type literal
      '    if (this) {',
      '      return { y: 1 };',
      '    }',
      '    return { y: 2 };',
      '  }',
      '}',
      'function g(b: number) {', // 14
      '  return [1, 2].map((n) => n * b);', // 15
      '}',
    ].join('\n');
    assert.deepEqual(long(text, 0), [
      { name: 'f', line: 1, lines: 5 },
      { name: 'method', line: 7, lines: 6 },
      { name: 'g', line: 14, lines: 3 },
    ]);
  });
});
