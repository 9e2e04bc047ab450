/**
 * A command line gets programFor(): the command it names declared by its module, the others
 * by name and description only (src/cli/program.ts). Its help, top-level and of the command
 * that runs, must be what the whole program (buildProgram, every module loaded) prints.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Command } from 'commander';
import { COMMANDS } from '../src/cli/commands-table.js';
import { buildProgram } from '../src/cli/index.js';
import { commandNamed, programFor } from '../src/cli/program.js';

/** The full --help text, the after-help included (helpInformation() leaves it out). */
function helpOf(command: Command): string {
  const written: string[] = [];
  command.configureOutput({ writeOut: (s) => written.push(s), writeErr: (s) => written.push(s) });
  command.outputHelp();
  return written.join('');
}

function walk(command: Command, parent = ''): { path: string; help: string }[] {
  const path = parent ? `${parent} ${command.name()}` : command.name();
  return [{ path, help: helpOf(command) }, ...command.commands.flatMap((sub) => walk(sub, path))];
}

const sub = (program: Command, name: string) => program.commands.find((c) => c.name() === name);

test('the table lists the commands of the whole program, in its order', () => {
  assert.deepEqual(
    COMMANDS.map((c) => c.name),
    buildProgram()
      .commands.map((c) => c.name())
      .filter((name) => name !== 'help'),
  );
});

test('relaygate --help from the names alone is the whole program’s', async () => {
  const full = buildProgram();
  for (const args of [[], ['--help'], ['no-such-command']]) assert.equal(helpOf(await programFor(args)), helpOf(full), args.join(' '));
});

test('each command, loaded alone, has the whole program’s help for itself, its subcommands and the top level', async () => {
  const full = buildProgram();
  for (const { name } of COMMANDS) {
    const lazy = await programFor([name]);
    assert.equal(helpOf(lazy), helpOf(full), `relaygate --help with ${name} loaded`);
    const loaded = sub(lazy, name);
    const whole = sub(full, name);
    assert.ok(loaded && whole);
    assert.deepEqual(walk(loaded), walk(whole), name);
  }
});

test('the command a line names, past the global options', () => {
  assert.equal(commandNamed(['queue', 'list']), 'queue');
  assert.equal(commandNamed(['-c', 'queue.yaml', 'domain', 'list']), 'domain');
  assert.equal(commandNamed(['--config', 'queue.yaml', 'domain']), 'domain');
  assert.equal(commandNamed(['--config=queue.yaml', 'audit', 'list']), 'audit');
  assert.equal(commandNamed(['help', 'queue']), 'queue');
  assert.equal(commandNamed(['--help']), undefined);
  assert.equal(commandNamed([]), undefined);
});

test('a line that names a command declares its subcommands, the others only by name', async () => {
  const program = await programFor(['-c', 'x.yaml', 'queue', 'list', '--all']);
  assert.deepEqual(
    sub(program, 'queue')?.commands.map((c) => c.name()),
    ['list', 'show', 'retry', 'delete'],
  );
  assert.deepEqual(sub(program, 'domain')?.commands, []);
});
