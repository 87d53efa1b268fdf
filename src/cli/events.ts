/** @module `homeostat events`: query the log page by page (GET /v1/events). */
import type { Command } from 'commander';
import type { HomeostatClient, Query } from './client.js';
import { type ClientFlags, clientFrom, examples, parseIntFlag, withClientOptions } from './options.js';
import { excerpt, formatTime, note, printJsonLine, printTable } from './output.js';
import { type EventRecord, withFilters } from './tail.js';

interface EventsFlags extends ClientFlags {
  readonly type: string[];
  readonly source: string[];
  readonly subject: string[];
  readonly since?: string;
  readonly until?: string;
  readonly limit?: string;
  readonly after?: string;
  readonly desc?: boolean;
  readonly all?: boolean;
}

interface EventsPage {
  readonly events: readonly EventRecord[];
  readonly next: number | null;
}

/** Registers `events` on the program. */
export function registerEvents(program: Command): void {
  const cmd = withFilters(program.command('events').description('query events in the log'))
    .option('--since <time>', 'appended at or after: RFC 3339, epoch ms, or a duration ago such as 15m')
    .option('--until <time>', 'appended before: RFC 3339, epoch ms, or a duration ago')
    .option('--limit <n>', 'events per page, 1..1000 (default 100)')
    .option('--after <offset>', 'cursor: start after this offset (the `next` of a previous page)')
    .option('--desc', 'newest first')
    .option('--all', 'follow the cursors until the end instead of printing one page');
  withClientOptions(cmd).action((flags: EventsFlags) => runEvents(flags));
  examples(cmd, [
    'homeostat events --type host.cpu.high --since 15m',
    'homeostat events --subject web-1 --desc --limit 10',
    'homeostat events --all --json > events.jsonl',
  ]);
}

function queryFrom(flags: EventsFlags): Query {
  return {
    type: flags.type,
    source: flags.source,
    subject: flags.subject,
    since: flags.since,
    until: flags.until,
    limit: parseIntFlag('--limit', flags.limit, 1, 1000),
    after: parseIntFlag('--after', flags.after),
    order: flags.desc ? 'desc' : undefined,
  };
}

async function runEvents(flags: EventsFlags): Promise<void> {
  const client = clientFrom(flags);
  const query = queryFrom(flags);
  const table: EventRecord[] = [];
  // JSON lines stream page by page; a table waits for every page so its columns line up.
  const print = flags.json ? printJsonLines : (records: readonly EventRecord[]) => table.push(...records);
  let after = query.after;
  for (;;) {
    const page = await fetchPage(client, { ...query, after });
    print(page.events);
    if (page.next === null || page.next === undefined || page.events.length === 0) break;
    if (!flags.all) {
      note(`homeostat: more events: add --after ${page.next} (or --all)`);
      break;
    }
    after = page.next;
  }
  if (!flags.json) printEventTable(table);
}

async function fetchPage(client: HomeostatClient, query: Query): Promise<EventsPage> {
  return (await client.request<EventsPage>('GET', '/v1/events', { query })).body;
}

function printJsonLines(records: readonly EventRecord[]): void {
  for (const r of records) printJsonLine(r);
}

function printEventTable(records: readonly EventRecord[]): void {
  if (records.length === 0) {
    note('homeostat: no events match');
    return;
  }
  const rows = records.map((r) => [
    String(r.offset),
    formatTime(r.event.time ?? r.appendedAt),
    String(r.event.type ?? ''),
    String(r.event.source ?? ''),
    String(r.event.subject ?? '-'),
    excerpt(r.event.data ?? r.event.data_base64, 50),
  ]);
  printTable(['OFFSET', 'TIME', 'TYPE', 'SOURCE', 'SUBJECT', 'DATA'], rows);
}
