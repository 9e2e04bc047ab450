import type { Command } from 'commander';
import type { AdminServices } from '../../api/api-context.js';
import type { Actor } from '../../directory/context.js';
import { DirectoryError } from '../../directory/errors.js';
import { type Route, type RouteTest, routeName } from '../../directory/routes.js';
import { withServices } from '../context.js';
import { CliError, formatTime, printJson, printTable } from '../output.js';

type Routes = AdminServices['routes'];

const MATCH_HELP = `MATCH is the envelope sender's domain, exactly (secure.example.com), or a subdomain wildcard:
*.example.com matches a.example.com and a.b.example.com, but not example.com itself.
Rules are tried in order (position 1 first); the first match wins, else the default action.
Actions: secure (the message becomes a secure message, read in the portal), relay (plain relay),
reject (refused at MAIL FROM with 550 5.7.1).`;

export function registerRoute(program: Command): void {
  const route = program
    .command('route')
    .description("rules on the envelope sender's domain: secure, relay or reject; first match wins")
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
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `\nExamples:\n  relaygate route add secure.example.com secure --description "customer mail from the helpdesk"\n  relaygate route add '*.example.com' reject --position 1\n\n${MATCH_HELP}`,
    )
    .action(async (match: string, action: string, opts: { position?: number; description?: string; json?: boolean }, command: Command) => {
      const added = await run(command, (routes, actor) => routes.add({ match, action, position: opts.position, description: opts.description }, actor));
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
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate route update rte_0123456789abcdef --action relay')
    .action(async (id: string, opts: { match?: string; action?: string; description?: string; json?: boolean }, command: Command) => {
      if (opts.match === undefined && opts.action === undefined && opts.description === undefined)
        throw new CliError('say what to change: --match, --action or --description (to reorder, use "relaygate route move")');
      const updated = await run(command, (routes, actor) =>
        routes.update(id, { match: opts.match, action: opts.action, description: opts.description }, actor),
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
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate route move rte_0123456789abcdef 1')
    .action(async (id: string, position: number, opts: { json?: boolean }, command: Command) => {
      const moved = await run(command, (routes, actor) => routes.move(id, position, actor));
      if (opts.json) return printJson(toJson(moved));
      process.stdout.write(`Moved ${moved.id} (${moved.match}) to position ${moved.position}\n`);
    });
}

function registerRemove(route: Command): void {
  route
    .command('remove')
    .description('remove a route; the ones after it move up')
    .argument('<id>', 'route id (see route list)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate route remove rte_0123456789abcdef')
    .action(async (id: string, opts: { json?: boolean }, command: Command) => {
      const removed = await run(command, (routes, actor) => routes.remove(id, actor));
      if (opts.json) return printJson(toJson(removed));
      process.stdout.write(`Removed ${removed.id} (${removed.match} → ${removed.action})\n`);
    });
}

function registerDefault(route: Command): void {
  route
    .command('default')
    .description('show, or set, the action for senders no route matches (relay unless changed)')
    .argument('[action]', 'secure, relay or reject')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  relaygate route default\n  relaygate route default reject')
    .action(async (action: string | undefined, opts: { json?: boolean }, command: Command) => {
      const current = await run(command, (routes, actor) => (action === undefined ? routes.defaultAction() : routes.setDefault(action, actor)));
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
      process.stdout.write(`${describeTest(result)}\n`);
    });
}

function describeTest(t: RouteTest): string {
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
