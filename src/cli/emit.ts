/** @module `homeostat emit`: publish one event from flags, or many from a JSON-lines file. */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { EXTENSION_NAME } from '../core/event.js';
import type { HomeostatClient } from './client.js';
import { type EmitResponse, emitFile } from './emit-file.js';
import { type ClientFlags, clientFrom, collect, examples, withClientOptions } from './options.js';
import { note, out, printJson, usageError } from './output.js';

interface EmitFlags extends ClientFlags {
  readonly type?: string;
  readonly source?: string;
  readonly id?: string;
  readonly subject?: string;
  readonly time?: string;
  readonly data?: string;
  readonly dataContentType?: string;
  readonly ext: string[];
  readonly partitionKey?: string;
  readonly file?: string;
}

/** Registers `emit` on the program. */
export function registerEmit(program: Command): void {
  const cmd = program
    .command('emit')
    .description('publish one event from flags, or events from a JSON-lines file (--file)')
    .option('--type <type>', 'event type (required unless --file)')
    .option('--source <uri>', 'event source (default cli://<hostname>)')
    .option('--id <id>', 'event id (default a random UUID)')
    .option('--subject <subject>', 'event subject')
    .option('--time <rfc3339>', 'event time')
    .option('--data <json>', "event data as JSON, or @file to read it from a file ('@-' for stdin)")
    .option('--data-content-type <type>', 'media type of --data (JSON unless it says otherwise)')
    .option('--ext <key=value>', 'extension attribute (repeatable)', collect, [])
    .option('--partition-key <key>', 'the key that orders this event (extension partitionkey)')
    .option('--file <path>', "JSON lines, one event per line ('-' for stdin); sent in batches of 500");
  withClientOptions(cmd).action((flags: EmitFlags) => runEmit(flags));
  examples(cmd, [
    `homeostat emit --type host.cpu.high --subject web-1 --data '{"cpu":97}'`,
    'homeostat emit --type deploy.finished --data @payload.json --ext team=web',
    'homeostat emit --file events.jsonl',
    'cat events.jsonl | homeostat emit --file -',
  ]);
}

async function runEmit(flags: EmitFlags): Promise<void> {
  const client = clientFrom(flags);
  if (flags.file !== undefined) {
    if (flags.type !== undefined || flags.data !== undefined) {
      throw usageError('--file cannot be combined with --type or --data; put the events in the file');
    }
    await emitFile(client, flags.file, Boolean(flags.json));
    return;
  }
  await emitOne(client, eventFromFlags(flags), Boolean(flags.json));
}

/** Builds a CloudEvent from flags; throws usage errors for missing or malformed values. */
export function eventFromFlags(flags: EmitFlags): Record<string, unknown> {
  if (!flags.type) throw usageError("required option '--type <type>' not specified (or use --file)");
  const event: Record<string, unknown> = {
    specversion: '1.0',
    id: flags.id ?? randomUUID(),
    source: flags.source ?? `cli://${hostname()}`,
    type: flags.type,
  };
  if (flags.subject !== undefined) event.subject = flags.subject;
  if (flags.time !== undefined) event.time = flags.time;
  if (flags.dataContentType !== undefined) event.datacontenttype = flags.dataContentType;
  if (flags.partitionKey !== undefined) event.partitionkey = flags.partitionKey;
  for (const [key, value] of parseExtensions(flags.ext)) event[key] = value;
  if (flags.data !== undefined) event.data = parseData(flags.data, flags.dataContentType);
  return event;
}

function parseExtensions(raw: readonly string[]): [string, string][] {
  return raw.map((item) => {
    const eq = item.indexOf('=');
    const key = eq > 0 ? item.slice(0, eq) : '';
    if (!EXTENSION_NAME.test(key)) {
      throw usageError(`--ext: '${item}' must be key=value with a key of 1 to 20 lower-case letters or digits`);
    }
    return [key, item.slice(eq + 1)];
  });
}

function isJsonMedia(contentType: string | undefined): boolean {
  return contentType === undefined || /[/+]json(\s*;|$)/i.test(contentType);
}

function parseData(raw: string, contentType: string | undefined): unknown {
  const text = raw.startsWith('@') ? readDataFile(raw.slice(1)) : raw;
  if (!isJsonMedia(contentType)) return text;
  try {
    return JSON.parse(text);
  } catch (cause) {
    const where = raw.startsWith('@') ? ` in ${raw.slice(1)}` : '';
    throw usageError(`--data: not valid JSON${where} (${(cause as Error).message}); quote it, e.g. --data '{"a":1}'`);
  }
}

function readDataFile(path: string): string {
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (cause) {
    throw usageError(`--data: cannot read '${path}': ${(cause as Error).message}`, cause);
  }
}

async function emitOne(client: HomeostatClient, event: Record<string, unknown>, json: boolean): Promise<void> {
  const res = await client.request<EmitResponse>('POST', '/v1/events', {
    body: event,
    contentType: 'application/cloudevents+json',
  });
  if (json) return printJson(res.body);
  const result = res.body.results[0];
  if (!result) return out(`accepted ${res.body.accepted}, duplicates ${res.body.duplicates}`);
  const where = result.offset === undefined ? '' : ` at offset ${result.offset}`;
  const partition = result.partition === undefined ? '' : ` (partition ${result.partition})`;
  out(`${result.status} ${result.id ?? event.id}${where}${partition}`);
  for (const w of result.warnings ?? []) note(`homeostat: warning: ${w.pointer}: ${w.message}`);
}
