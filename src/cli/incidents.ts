/** @module `homeostat incidents` and `homeostat incident <id>`: incidents kept by HealingPolicies, their timelines, acknowledging and resolving them. */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { type ClientFlags, clientFrom, examples, parseIntFlag, withClientOptions } from './options.js';
import { note, out, printJson, printTable, usageError } from './output.js';

/** An incident as the API sends it (docs/API.md, "Incidents"). */
interface IncidentWire {
  readonly id: string;
  readonly title: string;
  readonly severity: string;
  readonly status: string;
  readonly resource: string;
  readonly group?: string;
  readonly policy: string;
  readonly openedAt: string;
  readonly acknowledgedAt?: string;
  readonly acknowledgedBy?: string;
  readonly resolvedAt?: string;
  readonly resolvedBy?: string;
  readonly details: Record<string, unknown>;
  readonly timeline?: readonly { at: string; kind: string; summary: string; ref?: string }[];
  readonly entries?: number;
}

interface ListFlags extends ClientFlags {
  readonly all?: boolean;
  readonly status?: string;
  readonly limit?: string;
}

interface ShowFlags extends ClientFlags {
  readonly resolve?: boolean;
  readonly ack?: boolean;
  readonly comment?: string;
}

const path = (id: string) => `/v1/incidents/${encodeURIComponent(id)}`;

function whoami(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

export function registerIncidents(program: Command): void {
  const list = program
    .command('incidents')
    .description('incidents kept by HealingPolicies (open ones unless --all)')
    .option('--all', 'open and resolved incidents')
    .option('--status <status>', 'open, resolved or all')
    .option('--limit <n>', 'at most this many, newest first, 1..1000 (default 100)');
  withClientOptions(list).action(runList);
  examples(list, ['homeostat incidents', 'homeostat incidents --all --json']);

  const show = program
    .command('incident <id>')
    .description(
      'one incident with its timeline of events and actions; --ack says you are on it, --resolve closes it (and releases a held group)',
    )
    .option('--ack', 'acknowledge the incident: it stays open until resolved; repeating it changes nothing')
    .option('--resolve', 'resolve the incident; for a crash loop this releases the hold on the group')
    .option('--comment <text>', 'a note kept on the timeline with --ack or --resolve');
  withClientOptions(show).action(runShow);
  examples(show, [
    'homeostat incident inc-m3x1k2-7f3a',
    "homeostat incident inc-m3x1k2-7f3a --ack --comment 'looking at it'",
    "homeostat incident inc-m3x1k2-7f3a --resolve --comment 'bad release rolled back'",
  ]);
}

async function runList(flags: ListFlags): Promise<void> {
  const status = flags.status ?? (flags.all ? 'all' : 'open');
  const { body } = await clientFrom(flags).request<{ incidents: IncidentWire[] }>('GET', '/v1/incidents', {
    query: { status, limit: parseIntFlag('--limit', flags.limit, 1, 1000) },
  });
  if (flags.json) return printJson(body.incidents);
  if (body.incidents.length === 0) {
    note(`homeostat: no ${status === 'all' ? '' : `${status} `}incidents`);
    return;
  }
  printTable(
    ['ID', 'SEVERITY', 'STATUS', 'GROUP', 'OPENED', 'RESOLVED', 'TITLE'],
    body.incidents.map((i) => [
      i.id,
      i.severity,
      i.acknowledgedAt !== undefined && i.status === 'open' ? 'open (acked)' : i.status,
      i.group ?? i.resource,
      i.openedAt,
      i.resolvedAt ?? '-',
      i.title,
    ]),
  );
}

async function runShow(id: string, flags: ShowFlags): Promise<void> {
  if (flags.ack && flags.resolve) throw usageError('give one of --ack or --resolve, not both');
  if (flags.comment !== undefined && !flags.ack && !flags.resolve) {
    throw usageError('--comment goes with --ack or --resolve');
  }
  const client = clientFrom(flags);
  const decision = flags.ack ? 'acknowledge' : flags.resolve ? 'resolve' : undefined;
  const res =
    decision === undefined
      ? await client.request<IncidentWire>('GET', path(id))
      : await client.request<IncidentWire>('POST', `${path(id)}/${decision}`, {
          body: { by: whoami(), ...(flags.comment === undefined ? {} : { comment: flags.comment }) },
        });
  if (flags.json) return printJson(res.body);
  for (const line of formatIncident(res.body)) out(line);
}

const FIGURES: readonly [string, string][] = [
  ['toActionMs', 'to action'],
  ['toReplacementMs', 'to replacement started'],
  ['toVerifiedMs', 'to replacement healthy'],
  ['toResolvedMs', 'to resolved'],
];

/** The lines `homeostat incident <id>` prints. */
export function formatIncident(i: IncidentWire): string[] {
  const lines = [
    `${i.id}  ${i.severity}  ${i.status}  ${i.title}`,
    `  resource: ${i.resource}   policy: ${i.policy}`,
    `  opened:   ${i.openedAt}${i.resolvedAt ? `   resolved: ${i.resolvedAt} by ${i.resolvedBy ?? '?'}` : ''}`,
  ];
  if (i.acknowledgedAt) lines.push(`  acknowledged: ${i.acknowledgedAt} by ${i.acknowledgedBy ?? '?'}`);
  const figures = FIGURES.filter(([k]) => typeof i.details[k] === 'number').map(
    ([k, label]) => `${label} ${String(i.details[k])} ms`,
  );
  if (figures.length > 0) lines.push(`  times from the first failure: ${figures.join(', ')}`);
  if (i.details.held === true) lines.push(`  group held: resolve to release it (homeostat incident ${i.id} --resolve)`);
  lines.push('timeline:');
  for (const e of i.timeline ?? []) {
    lines.push(`  ${e.at}  ${e.kind.padEnd(6)}  ${e.summary}${e.ref ? `  [${e.ref}]` : ''}`);
  }
  return lines;
}
