/** @module `homeostat trace`: an event's causal chain: event -> rule -> target -> attempts -> outcome -> emitted events. */
import type { Command } from 'commander';
import { type ClientFlags, clientFrom, examples, withClientOptions } from './options.js';
import { excerpt, out, printJson } from './output.js';

interface TraceFlags extends ClientFlags {
  readonly source?: string;
}

/** A trace entry as the API sends it (docs/API.md). */
export interface TraceEntryWire {
  readonly source: string;
  readonly id: string;
  readonly offset: number;
  readonly at: string;
  readonly kind: string;
  readonly rule?: string;
  readonly target?: string;
  readonly attempt?: number;
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** Registers `trace` on the program. */
export function registerTrace(program: Command): void {
  const cmd = program
    .command('trace <event-id>')
    .description('what the engine did with an event: rules matched, attempts, outcomes, events emitted')
    .option('--source <source>', 'the event source, when several sources used the same id');
  withClientOptions(cmd).action(runTrace);
  examples(cmd, ['homeostat trace 7f3c2a', 'homeostat trace order-17 --source /shop/orders --json']);
}

async function runTrace(id: string, flags: TraceFlags): Promise<void> {
  const res = await clientFrom(flags).request<{ id: string; entries: TraceEntryWire[] }>(
    'GET',
    `/v1/events/${encodeURIComponent(id)}/trace`,
    { query: { source: flags.source } },
  );
  if (flags.json) return printJson(res.body);
  for (const line of renderTrace(res.body.entries)) out(line);
}

/** Groups items by a key, keeping the order in which keys first appear. */
function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = keyOf(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/** The trace as indented lines: one block per event, per rule, per target, ending with the outcome. */
export function renderTrace(entries: readonly TraceEntryWire[]): string[] {
  const lines: string[] = [];
  for (const events of groupBy(entries, (e) => e.source).values()) {
    const first = events[0]!;
    lines.push(`event ${first.id} from ${first.source} (offset ${first.offset})`);
    for (const e of events.filter((x) => x.rule === undefined)) lines.push(`  ${entryLine(e)}`);
    const withRule = events.filter((x) => x.rule !== undefined);
    for (const [rule, ruleEntries] of groupBy(withRule, (e) => e.rule!)) {
      lines.push(`  rule ${rule}`);
      for (const e of ruleEntries.filter((x) => x.target === undefined)) lines.push(`    ${entryLine(e)}`);
      const withTarget = ruleEntries.filter((x) => x.target !== undefined);
      for (const [target, targetEntries] of groupBy(withTarget, (e) => e.target!)) {
        lines.push(`    -> target ${target}`);
        for (const e of targetEntries) lines.push(`       ${entryLine(e)}`);
        lines.push(`       outcome: ${outcome(targetEntries)}`);
      }
    }
  }
  return lines;
}

const LABEL: Readonly<Record<string, (e: TraceEntryWire) => string>> = {
  matched: () => 'matched',
  attempt: (e) => `attempt ${e.attempt ?? '?'}`,
  delivered: (e) => `delivered${e.attempt === undefined ? '' : ` on attempt ${e.attempt}`}`,
  'retry-scheduled': (e) => {
    const delay = e.detail?.delayMs;
    return `retry scheduled${typeof delay === 'number' ? ` in ${delay} ms` : ''}`;
  },
  'dead-lettered': (e) => {
    const id = e.detail?.deadLetter;
    return `dead-lettered${typeof id === 'number' ? ` (homeostat dlq show ${id})` : ''}`;
  },
  skipped: () => 'skipped',
  emitted: () => 'emitted',
};

/** Keys the labels already show; every other detail field is printed. */
const SHOWN = new Set(['delayMs', 'deadLetter', 'events', 'error', 'reason']);

function entryLine(e: TraceEntryWire): string {
  const parts = [e.at, (LABEL[e.kind] ?? ((x: TraceEntryWire) => x.kind))(e)];
  const d = e.detail ?? {};
  if (typeof d.reason === 'string') parts.push(`reason ${d.reason}`);
  const error = d.error as { code?: unknown; message?: unknown } | undefined;
  if (error && typeof error === 'object') parts.push(`error ${String(error.code)}: ${String(error.message ?? '')}`);
  const events = emittedEvents(d);
  if (events.length > 0) parts.push(events.map((x) => `${x.id} from ${x.source}`).join(', '));
  const rest = Object.fromEntries(Object.entries(d).filter(([k]) => !SHOWN.has(k)));
  if (Object.keys(rest).length > 0) parts.push(excerpt(rest, 100));
  return parts.join('  ');
}

function emittedEvents(detail: Readonly<Record<string, unknown>>): { source: string; id: string }[] {
  const list = detail.events;
  if (!Array.isArray(list)) return [];
  return list.filter(
    (x): x is { source: string; id: string } =>
      typeof x === 'object' && x !== null && typeof x.source === 'string' && typeof x.id === 'string',
  );
}

function outcome(entries: readonly TraceEntryWire[]): string {
  const last = [...entries].reverse().find((e) => e.kind !== 'emitted' && e.kind !== 'matched');
  const emitted = entries.flatMap((e) => (e.kind === 'emitted' && e.detail ? emittedEvents(e.detail) : []));
  const next = emitted.length > 0 ? `; follow with: ${emitted.map((x) => `homeostat trace ${x.id}`).join(', ')}` : '';
  switch (last?.kind) {
    case 'delivered':
      return `delivered${next}`;
    case 'dead-lettered':
      return 'dead-lettered';
    case 'retry-scheduled':
      return 'waiting for a retry';
    case 'skipped':
      return 'skipped';
    case 'attempt':
      return 'attempt in progress (or the engine stopped during it)';
    default:
      return 'matched, no attempt yet';
  }
}
