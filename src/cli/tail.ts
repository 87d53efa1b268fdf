/** @module `homeostat tail`: follow the live event stream (SSE), reconnecting where it left off. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { ErrorCode, HomeostatError } from '../core/errors.js';
import type { HomeostatClient, Query } from './client.js';
import { type ClientFlags, clientFrom, collect, examples, parseIntFlag, withClientOptions } from './options.js';
import { excerpt, formatTime, note, out, printJsonLine } from './output.js';
import { parseSse } from './sse.js';

const MAX_RECONNECTS = 5;
const FIRST_BACKOFF_MS = 500;

interface TailFlags extends ClientFlags {
  readonly type: string[];
  readonly source: string[];
  readonly subject: string[];
  readonly from?: string;
}

/** A record as the query and the stream return it. */
export interface EventRecord {
  readonly offset: number;
  readonly partition?: number;
  readonly partitionKey?: string;
  readonly appendedAt?: string | number;
  readonly event: Readonly<Record<string, unknown>>;
}

/** Adds the --type/--source/--subject filters shared by `tail` and `events`. */
export function withFilters(cmd: Command): Command {
  return cmd
    .option('--type <type>', 'only events of this type (repeatable, or comma separated)', collect, [])
    .option('--source <source>', 'only events from this source (repeatable)', collect, [])
    .option('--subject <subject>', 'only events about this subject (repeatable)', collect, []);
}

/** Registers `tail` on the program. */
export function registerTail(program: Command): void {
  const cmd = withFilters(
    program.command('tail').description('follow new events as they are appended (Ctrl-C to stop)'),
  ).option('--from <offset>', 'start at this offset instead of new events only');
  withClientOptions(cmd).action((flags: TailFlags) => runTail(flags));
  examples(cmd, [
    'homeostat tail',
    'homeostat tail --type host.cpu.high --subject web-1',
    'homeostat tail --from 0 --json | jq .event.data',
  ]);
}

/** One line per event: time, offset, type, source, subject, data excerpt. */
export function compactLine(record: EventRecord): string {
  const e = record.event;
  const time = formatTime(e.time ?? record.appendedAt);
  const data = e.data !== undefined ? e.data : e.data_base64;
  return [time, record.offset, e.type, e.source, e.subject ?? '-', excerpt(data)].join('  ').trimEnd();
}

async function runTail(flags: TailFlags): Promise<void> {
  const client = clientFrom(flags);
  const query: Query = {
    type: flags.type,
    source: flags.source,
    subject: flags.subject,
    from: parseIntFlag('--from', flags.from),
  };
  const print = flags.json ? printJsonLine : (r: EventRecord) => out(compactLine(r));
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await follow(client, query, controller.signal, print);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/** A transient failure: the connection broke or the server is briefly unavailable (5xx). */
function isTransient(err: unknown): boolean {
  const status = (err as { details?: { status?: unknown } }).details?.status;
  return typeof status === 'number' ? status >= 500 : true;
}

async function follow(
  client: HomeostatClient,
  query: Query,
  signal: AbortSignal,
  print: (record: EventRecord) => void,
): Promise<void> {
  let lastId: string | undefined;
  let failures = 0;
  for (;;) {
    let reason = 'the server closed the stream';
    try {
      for await (const record of stream(client, query, lastId, signal)) {
        lastId = String(record.offset);
        failures = 0;
        print(record);
      }
    } catch (err) {
      if (signal.aborted) return;
      // The first connection fails loudly: retrying a wrong URL or token only hides the mistake.
      if (lastId === undefined && failures === 0 && !isReconnect(err)) throw err;
      if (!isTransient(err)) throw err;
      reason = (err as Error).message;
    }
    if (signal.aborted) return;
    if (++failures > MAX_RECONNECTS) {
      throw new HomeostatError(
        ErrorCode.UNAVAILABLE,
        `lost the event stream from ${client.url} and ${MAX_RECONNECTS} reconnection attempts failed: ${reason}`,
      );
    }
    const delay = FIRST_BACKOFF_MS * 2 ** (failures - 1);
    note(`homeostat: stream interrupted (${reason}); reconnecting in ${delay} ms`);
    if (!(await pause(delay, signal))) return;
  }
}

/** Errors raised while reading an already-open stream are marked by `stream`. */
function isReconnect(err: unknown): boolean {
  return (err as { midStream?: boolean }).midStream === true;
}

async function* stream(
  client: HomeostatClient,
  query: Query,
  lastId: string | undefined,
  signal: AbortSignal,
): AsyncGenerator<EventRecord> {
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (lastId !== undefined) headers['last-event-id'] = lastId;
  const res = await client.open('/v1/events/stream', {
    query: lastId === undefined ? query : { ...query, from: undefined },
    headers,
    signal,
  });
  if (!res.body) return;
  try {
    for await (const message of parseSse(res.body)) {
      if (message.event === 'event') yield JSON.parse(message.data) as EventRecord;
    }
  } catch (err) {
    throw Object.assign(err as object, { midStream: true });
  }
}

/** Waits `ms`; false if the signal fired first. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}
