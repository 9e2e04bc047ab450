import type { Command } from 'commander';
import type { AdminServices } from '../../api/api-context.js';
import type { Actor } from '../../directory/context.js';
import type { ConfirmOption, Route, RouteTest } from '../../directory/routes.js';
import { ConfirmationRequired, DirectoryError } from '../../model/directory-error.js';
import { descriptionOf } from '../commands-table.js';
import { askAtTerminal, canAsk } from '../confirm-prompt.js';
import { withServices } from '../context.js';
import { CliError, formatTime, printJson, printTable } from '../output.js';

type Routes = AdminServices['routes'];

const MATCH_HELP = `MATCH is the envelope sender's domain, exactly (secure.example.com), or a subdomain wildcard:
*.example.com matches a.example.com and a.b.example.com, but not example.com itself.
Rules are tried in order (position 1 first); the first match wins, else the default action.
Actions: secure (the message becomes a secure message, read in the portal), relay (plain relay),
reject (refused at MAIL FROM with 550 5.7.1).
A change that takes senders out of secure (their mail would leave as plain mail, or be refused)
asks first at a terminal; --yes goes ahead without asking, and without a terminal it is required.`;

const YES = ['--yes', 'go ahead even if mail from some senders then stops being secure (no question asked)'] as const;

export function registerRoute(program: Command): void {
  const route = program
    .command('route')
    .description(descriptionOf('route'))
    .addHelpText('after', `\n${MATCH_HELP}`)
    .addHelpText(
      'after',
      '\nExamples:\n  relaygate route add secure.example.com secure --description "secure mail from the CRM"\n  relaygate route test support@secure.example.com',
    );
  registerList(route);
  registerAdd(route);
  registerUpdate(route);
  registerMove(route);
  registerRemove(route);
  registerDefault(route);
  registerTest(route);
}

function registerList(route: Command): void {
  route
    .command('list')
    .description('the routes in the order they are tried, and the default action')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  relaygate route list\n  relaygate route list --json')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const page = await run(command, (routes) => routes.list({ limit: 500, offset: 0 }));
      if (opts.json) return printJson({ items: page.items.map(toJson), defaultAction: page.defaultAction });
      printTable(page.items.map(toRow), ['position', 'id', 'match', 'action', 'description']);
      process.stdout.write(`default: ${page.defaultAction} (senders no route matches)\n`);
    });
}

function registerAdd(route: Command): void {
  route
    .command('add')
    .description('add a route, at the end unless --position says where')
    .argument('<match>', 'sender domain (secure.example.com) or subdomain wildcard (*.example.com)')
    .argument('<action>', 'secure, relay or reject')
    .option('--position <n>', 'insert at this position (1 = tried first)', positiveInteger('--position'))
    .option('--description <text>', 'why the rule exists')
    .option(...YES)
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `\nExamples:\n  relaygate route add secure.example.com secure --description "customer mail from the helpdesk"\n  relaygate route add '*.example.com' reject --position 1\n\n${MATCH_HELP}`,
    )
    .action(async (match: string, action: string, opts: { position?: number; description?: string; yes?: boolean; json?: boolean }, command: Command) => {
      const added = await runConfirmed(command, opts, (routes, actor, confirm) =>
        routes.add({ match, action, position: opts.position, description: opts.description }, actor, confirm),
      );
      if (opts.json) return printJson(toJson(added));
      process.stdout.write(`Added ${added.id} at position ${added.position}: ${added.match} → ${added.action}\n`);
    });
}

function registerUpdate(route: Command): void {
  route
    .command('update')
    .description("change a route's match, action or description")
    .argument('<id>', 'route id (see route list)')
    .option('--match <match>', 'sender domain or subdomain wildcard')
    .option('--action <action>', 'secure, relay or reject')
    .option('--description <text>', 'why the rule exists')
    .option(...YES)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate route update rte_0123456789abcdef --action relay --yes')
    .action(async (id: string, opts: { match?: string; action?: string; description?: string; yes?: boolean; json?: boolean }, command: Command) => {
      if (opts.match === undefined && opts.action === undefined && opts.description === undefined)
        throw new CliError('say what to change: --match, --action or --description (to reorder, use "relaygate route move")');
      const updated = await runConfirmed(command, opts, (routes, actor, confirm) =>
        routes.update(id, { match: opts.match, action: opts.action, description: opts.description }, actor, confirm),
      );
      if (opts.json) return printJson(toJson(updated));
      process.stdout.write(`Updated ${updated.id} at position ${updated.position}: ${updated.match} → ${updated.action}\n`);
    });
}

function registerMove(route: Command): void {
  route
    .command('move')
    .description('move a route to another position; the rules in between shift by one')
    .argument('<id>', 'route id (see route list)')
    .argument('<position>', 'new position (1 = tried first)', positiveInteger('position'))
    .option(...YES)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate route move rte_0123456789abcdef 1')
    .action(async (id: string, position: number, opts: { yes?: boolean; json?: boolean }, command: Command) => {
      const moved = await runConfirmed(command, opts, (routes, actor, confirm) => routes.move(id, position, actor, confirm));
      if (opts.json) return printJson(toJson(moved));
      process.stdout.write(`Moved ${moved.id} (${moved.match}) to position ${moved.position}\n`);
    });
}

function registerRemove(route: Command): void {
  route
    .command('remove')
    .description('remove a route; the ones after it move up')
    .argument('<id>', 'route id (see route list)')
    .option(...YES)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  relaygate route remove rte_0123456789abcdef\n  relaygate route remove rte_0123456789abcdef --yes')
    .action(async (id: string, opts: { yes?: boolean; json?: boolean }, command: Command) => {
      const removed = await runConfirmed(command, opts, (routes, actor, confirm) => routes.remove(id, actor, confirm));
      if (opts.json) return printJson(toJson(removed));
      process.stdout.write(`Removed ${removed.id} (${removed.match} → ${removed.action})\n`);
    });
}

function registerDefault(route: Command): void {
  route
    .command('default')
    .description('show, or set, the action for senders no route matches (relay unless changed)')
    .argument('[action]', 'secure, relay or reject')
    .option(...YES)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  relaygate route default\n  relaygate route default reject')
    .action(async (action: string | undefined, opts: { yes?: boolean; json?: boolean }, command: Command) => {
      const current = await runConfirmed(command, opts, (routes, actor, confirm) =>
        action === undefined ? routes.defaultAction() : routes.setDefault(action, actor, confirm),
      );
      if (opts.json) return printJson({ action: current });
      process.stdout.write(action === undefined ? `default: ${current}\n` : `Default action set to ${current}\n`);
    });
}

function registerTest(route: Command): void {
  route
    .command('test')
    .description('which route applies to an envelope sender, as the gateway decides at MAIL FROM')
    .argument('<sender>', 'envelope sender address; "<>" for the null sender')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  relaygate route test support@secure.example.com\n  relaygate route test noreply@example.com --json')
    .action(async (sender: string, opts: { json?: boolean }, command: Command) => {
      const result = await run(command, (routes) => routes.test(sender));
      if (opts.json) return printJson({ ...result, rule: result.rule ? toJson(result.rule) : null });
      process.stdout.write(`${await describeTest(result)}\n`);
    });
}

async function describeTest(t: RouteTest): Promise<string> {
  const { routeName } = await import('../../directory/routes.js');
  const sender = t.sender === '' ? '<> (null sender)' : t.sender;
  const by = t.rule ? `${routeName(t.rule)}, position ${t.rule.position}` : routeName(null);
  return `${sender} → ${t.action} (${by})`;
}

/** Runs a verb on the route service; a refusal of the directory becomes one line on stderr. */
async function run<T>(command: Command, work: (routes: Routes, actor: Actor) => Promise<T>): Promise<T> {
  try {
    return await withServices(command, (services, actor) => work(services.routes, actor));
  } catch (err) {
    if (err instanceof DirectoryError) throw new CliError(err.message);
    throw err;
  }
}

/**
 * Runs a change that may need confirming: with --yes at once; else a change that takes mail out
 * of secure is refused by the directory, and a person at a terminal is asked before it is
 * repeated confirmed. Without a terminal nobody can answer: the refusal says to add --yes.
 */
async function runConfirmed<T>(
  command: Command,
  opts: { yes?: boolean },
  work: (routes: Routes, actor: Actor, confirm: ConfirmOption) => Promise<T>,
): Promise<T> {
  return run(command, async (routes, actor) => {
    try {
      return await work(routes, actor, { confirmed: opts.yes === true });
    } catch (err) {
      if (!(err instanceof ConfirmationRequired)) throw err;
      const consequence = `${err.consequence[0]?.toUpperCase()}${err.consequence.slice(1)}.`;
      if (!canAsk()) throw new CliError(`${consequence} Nothing changed; add --yes to go ahead.`);
      if (!(await askAtTerminal(`${consequence}\nGo ahead? [y/N] `))) throw new CliError('Nothing changed.');
      return work(routes, actor, { confirmed: true });
    }
  });
}

function positiveInteger(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new CliError(`${name} must be a whole number of at least 1, not "${value}"`);
    return n;
  };
}

const toJson = (r: Route) => ({ ...r, createdAt: formatTime(r.createdAt) });

const toRow = (r: Route): Record<string, string> => ({
  position: String(r.position),
  id: r.id,
  match: r.match,
  action: r.action,
  description: r.description || '-',
});
