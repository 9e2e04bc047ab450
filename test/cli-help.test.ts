import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../src/cli/index.js';

/**
 * Commands whose files another change owns; each still needs an example in its --help.
 * The test fails once one gets its example, so that it is taken off this list.
 */
const EXAMPLE_PENDING = new Set<string>([]);

interface Walked {
  path: string;
  command: Command;
}

function walk(command: Command, parent = ''): Walked[] {
  const path = parent ? `${parent} ${command.name()}` : command.name();
  return [{ path, command }, ...command.commands.flatMap((sub) => walk(sub, path))];
}

/** The full --help text, the after-help included (helpInformation() leaves it out). */
function helpOf(command: Command): string {
  const written: string[] = [];
  command.configureOutput({ writeOut: (s) => written.push(s), writeErr: (s) => written.push(s) });
  command.outputHelp();
  return written.join('');
}

test('every relaygate command and subcommand shows an example in its --help', () => {
  const commands = walk(buildProgram());
  assert.ok(commands.length > 60, `the walk found ${commands.length} commands`);
  const missing = commands.filter(({ path, command }) => !/\bExamples?\b.*:/.test(helpOf(command)) && !EXAMPLE_PENDING.has(path)).map((c) => c.path);
  assert.deepEqual(missing, [], 'add .addHelpText("after", "\\nExample:\\n  relaygate …") to these');
  const done = commands.filter(({ path, command }) => EXAMPLE_PENDING.has(path) && /\bExamples?\b.*:/.test(helpOf(command))).map((c) => c.path);
  assert.deepEqual(done, [], 'these have their example now: take them off EXAMPLE_PENDING');
});
