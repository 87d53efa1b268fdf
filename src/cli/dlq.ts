/** @module `homeostat dlq`: list, show, count, redrive and purge dead letters (/v1/dlq). */
import type { Command } from 'commander';
import { ErrorCode, HomeostatError } from '../core/errors.js';
import type { Query } from './client.js';
import { type ClientFlags, clientFrom, examples, parseIntFlag, withClientOptions } from './options.js';
import { excerpt, formatTime, note, out, printJson, printTable, usageError } from './output.js';
import { registerTrace } from './trace.js';

interface FilterFlags extends ClientFlags {
  readonly rule?: string;
  readonly target?: string;
  readonly since?: string;
  readonly until?: string;
}

interface ListFlags extends FilterFlags {
  readonly limit?: string;
  readonly after?: string;
}

interface SelectorFlags extends FilterFlags {
  readonly all?: boolean;
}

/** A dead letter as the API sends it (docs/API.md). */
interface DeadLetterWire {
  readonly id: number;
  readonly key: { readonly source: string; readonly id: string; readonly rule: string; readonly target: string };
  readonly offset: number;
  readonly attempts: number;
  readonly reason: string;
  readonly error: { readonly code: string; readonly message: string; readonly details?: unknown };
  readonly deadAt: string;
  readonly eventType?: string;
  readonly event?: Record<string, unknown>;
}

const TIME_HELP = 'RFC 3339, epoch ms, or a duration ago such as 1h';

/** Registers `dlq` and `trace` on the program. */
export function registerDeliveryCommands(program: Command): void {
  registerDlq(program);
  registerTrace(program);
}

function withFilterFlags(cmd: Command, verb: string): Command {
  return cmd
    .option('--rule <name>', `only dead letters of this rule${verb}`)
    .option('--target <id>', `only dead letters of this target${verb}`)
    .option('--since <time>', `dead-lettered at or after: ${TIME_HELP}`)
    .option('--until <time>', `dead-lettered before: ${TIME_HELP}`);
}

function registerDlq(program: Command): void {
  const dlq = program.command('dlq').description('inspect, redrive and purge dead letters (deliveries that gave up)');
  const list = withFilterFlags(dlq.command('list').description('list dead letters, oldest first'), '')
    .option('--limit <n>', 'entries per page, 1..1000 (default 100)')
    .option('--after <id>', 'cursor: start after this dead-letter id');
  withClientOptions(list).action(runList);
  withClientOptions(dlq.command('show <id>').description('one dead letter with its error and event')).action(runShow);
  withClientOptions(withFilterFlags(dlq.command('count').description('count dead letters'), '')).action(runCount);
  for (const verb of ['redrive', 'purge'] as const) {
    const what =
      verb === 'redrive'
        ? 'deliver dead letters again (ids, a filter, or --all)'
        : 'delete dead letters without delivering them (ids, a filter, or --all)';
    const cmd = withFilterFlags(dlq.command(`${verb} [ids...]`).description(what), ` (a filter: all that match)`);
    withClientOptions(cmd.option('--all', `${verb} every dead letter`)).action((ids: string[], flags: SelectorFlags) =>
      runSelect(verb, ids, flags),
    );
  }
  examples(dlq, [
    'homeostat dlq list --rule page-on-5xx --since 1h',
    'homeostat dlq show 42',
    'homeostat dlq redrive 42 43',
    'homeostat dlq redrive --rule page-on-5xx --target oncall',
    'homeostat dlq purge --all',
    'homeostat dlq count --since 24h',
  ]);
}

function filterQuery(flags: FilterFlags): Query {
  return { rule: flags.rule, target: flags.target, since: flags.since, until: flags.until };
}

async function runList(flags: ListFlags): Promise<void> {
  const query = {
    ...filterQuery(flags),
    limit: parseIntFlag('--limit', flags.limit, 1, 1000),
    after: parseIntFlag('--after', flags.after),
  };
  const res = await clientFrom(flags).request<{ entries: DeadLetterWire[]; next: number | null }>('GET', '/v1/dlq', {
    query,
  });
  if (flags.json) return printJson(res.body);
  const { entries, next } = res.body;
  if (entries.length === 0) return note('homeostat: the dead-letter queue has no matching entries');
  const rows = entries.map((l) => [
    String(l.id),
    formatTime(l.deadAt),
    l.key.rule,
    l.key.target,
    `${l.key.source} ${l.key.id}`,
    String(l.attempts),
    l.reason,
    excerpt(`${l.error.code}: ${l.error.message}`, 60),
  ]);
  printTable(['ID', 'DEAD AT', 'RULE', 'TARGET', 'EVENT', 'ATTEMPTS', 'REASON', 'ERROR'], rows);
  if (next !== null) note(`homeostat: more dead letters: add --after ${next}`);
}

function parseId(raw: string): number {
  const id = parseIntFlag('dead-letter id', raw, 1);
  if (id === undefined) throw usageError(`'${raw}' is not a dead-letter id`);
  return id;
}

async function runShow(rawId: string, flags: ClientFlags): Promise<void> {
  const id = parseId(rawId);
  const res = await clientFrom(flags).request<DeadLetterWire>('GET', `/v1/dlq/${id}`);
  if (flags.json) return printJson(res.body);
  const l = res.body;
  const rows: [string, string][] = [
    ['event', `${l.key.id} from ${l.key.source} (type ${String(l.event?.type ?? '?')}, offset ${l.offset})`],
    ['rule', `${l.key.rule} -> target ${l.key.target}`],
    ['attempts', String(l.attempts)],
    ['reason', l.reason],
    ['dead at', formatTime(l.deadAt)],
    ['error', `${l.error.code}: ${l.error.message}`],
  ];
  if (l.error.details !== undefined) rows.push(['details', JSON.stringify(l.error.details)]);
  out(`dead letter ${l.id}`);
  for (const [name, value] of rows) out(`  ${name.padEnd(9)} ${value}`);
  out('event:');
  printJson(l.event);
}

async function runCount(flags: FilterFlags): Promise<void> {
  const res = await clientFrom(flags).request<{ count: number }>('GET', '/v1/dlq/count', { query: filterQuery(flags) });
  if (flags.json) return printJson(res.body);
  out(String(res.body.count));
}

/** The request body for redrive/purge: exactly one of ids, filter flags or --all. */
export function selectorBody(verb: string, ids: readonly string[], flags: SelectorFlags): Record<string, unknown> {
  const filter = Object.fromEntries(Object.entries(filterQuery(flags)).filter(([, v]) => v !== undefined));
  const kinds = [ids.length > 0 && 'ids', Object.keys(filter).length > 0 && 'filter flags', flags.all && '--all'];
  const given = kinds.filter((k): k is string => typeof k === 'string');
  if (given.length === 0) {
    throw usageError(`dlq ${verb}: say which dead letters: ids, --rule/--target/--since/--until, or --all`);
  }
  if (given.length > 1)
    throw usageError(`dlq ${verb}: give one of ids, filter flags or --all, not ${given.join(' and ')}`);
  if (ids.length > 0) return { ids: ids.map(parseId) };
  return flags.all ? { all: true } : { filter };
}

async function runSelect(verb: 'redrive' | 'purge', ids: string[], flags: SelectorFlags): Promise<void> {
  const body = selectorBody(verb, ids, flags);
  const res = await clientFrom(flags).request<{
    redriven?: number;
    alreadyDelivered?: number;
    purged?: number;
    missing: number[];
  }>('POST', `/v1/dlq/${verb}`, { body });
  const r = res.body;
  if (flags.json) printJson(r);
  else if (verb === 'purge') out(`purged ${r.purged ?? 0} dead letter(s)`);
  else {
    const delivered = r.alreadyDelivered ? `; ${r.alreadyDelivered} removed, already delivered` : '';
    out(`redriven ${r.redriven ?? 0} dead letter(s)${delivered}`);
  }
  if (r.missing.length > 0) {
    throw new HomeostatError(
      ErrorCode.NOT_FOUND,
      `not in the dead-letter queue: ${r.missing.join(', ')}; list the ids with \`homeostat dlq list\``,
    );
  }
}
