import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../src/cli/index.js';

/** Commander wraps to 80 columns when stdout is not a terminal, but only where it has 40 columns left for descriptions. */
test('every --help wraps within 80 columns, the command lists of relaygate domain and the others alike', () => {
  const long: string[] = [];
  const walk = (command: Command, path: string[]): void => {
    // A lone word longer than the column (a URL) cannot be wrapped; anything else can.
    for (const line of command.helpInformation().split('\n')) if (line.length > 80 && /\s/.test(line.trim())) long.push(`${path.join(' ')} --help: ${line}`);
    for (const sub of command.commands) walk(sub, [...path, sub.name()]);
  };
  walk(buildProgram(), ['relaygate']);
  assert.deepEqual(long, []);
});
