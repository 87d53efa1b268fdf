/** @module `homeostat why <id>` (the causal tree of an event, action, run or incident) and `homeostat why-not` (why a rule did not fire). */
import type { Command } from 'commander';
import { formatRelative } from '../core/why/format.js';
import type { WhyNode, WhyNotResult, WhyTree } from '../core/why/types.js';
import { type ClientFlags, clientFrom, examples, parseIntFlag, withClientOptions } from './options.js';
import { out, printJson, usageError } from './output.js';

interface WhyFlags extends ClientFlags {
  readonly source?: string;
  readonly maxEvents?: string;
  readonly window?: string;
  readonly maxNodes?: string;
}

interface WhyNotFlags extends ClientFlags {
  readonly rule?: string;
  readonly event?: string;
  readonly source?: string;
  readonly maxEvents?: string;
}

export function registerWhy(program: Command): void {
  const why = program
    .command('why <id>')
    .description(
      'why something happened: the causal tree from the root event through rules, conditions, safety-rail decisions, actions and attempts to resource changes and cost (an event, action, workflow run or incident id)',
    )
    .option('--source <source>', 'the event source, when several sources used the same id')
    .option('--max-events <n>', 'events to read looking for the id and what it caused (default 50000)')
    .option('--window <duration>', 'append time after the root to look for effects (default 1h)')
    .option('--max-nodes <n>', 'nodes in the tree (default 2000)');
  withClientOptions(why).action(runWhy);
  examples(why, [
    'homeostat why act-3f9c2a1b7d4e8f60',
    'homeostat why order-17 --source /shop/orders',
    'homeostat why run-1a2b3c --json',
    'homeostat why inc-m3x1k2-7f3a --window 6h',
  ]);

  const whyNot = program
    .command('why-not')
    .description(
      "why a rule did not fire for an event: the failing pattern field, the condition's progress, a refusing safety rail, a failed delivery",
    )
    .option('--rule <name>', 'the rule (or a policy, e.g. ScalingPolicy/web)')
    .option('--event <id>', 'the event id')
    .option('--source <source>', 'the event source, when several sources used the same id')
    .option('--max-events <n>', 'events to read looking for the event and re-evaluating a condition (default 50000)');
  withClientOptions(whyNot).action(runWhyNot);
  examples(whyNot, [
    'homeostat why-not --rule page-on-5xx-burst --event 7f3c2a',
    'homeostat why-not --rule ScalingPolicy/web --event m-1 --json',
  ]);
}

async function runWhy(id: string, flags: WhyFlags): Promise<void> {
  const res = await clientFrom(flags).request<WhyTree>('GET', `/v1/why/${encodeURIComponent(id)}`, {
    query: {
      source: flags.source,
      maxEvents: parseIntFlag('--max-events', flags.maxEvents, 1),
      maxNodes: parseIntFlag('--max-nodes', flags.maxNodes, 1),
      window: flags.window,
    },
  });
  if (flags.json) return printJson(res.body);
  for (const line of renderWhy(res.body)) out(line);
}

async function runWhyNot(flags: WhyNotFlags): Promise<void> {
  if (flags.rule === undefined || flags.event === undefined) {
    throw usageError('why-not needs --rule <name> and --event <id>');
  }
  const res = await clientFrom(flags).request<WhyNotResult>('GET', '/v1/why-not', {
    query: {
      rule: flags.rule,
      event: flags.event,
      source: flags.source,
      maxEvents: parseIntFlag('--max-events', flags.maxEvents, 1),
    },
  });
  if (flags.json) return printJson(res.body);
  for (const line of renderWhyNot(res.body)) out(line);
}

const FOCUS = '  ◀';

/** The tree as indented lines (├─ └─), each with its time relative to the root. */
export function renderTree(root: WhyNode): string[] {
  const lines: string[] = [];
  const walk = (n: WhyNode, lead: string, branch: string): void => {
    lines.push(`${lead}${branch}${formatRelative(n.t)} ${n.summary}${n.focus ? FOCUS : ''}`);
    const childLead = lead + (branch === '' ? '' : branch === '├─ ' ? '│  ' : '   ');
    n.children.forEach((c, i) => walk(c, childLead, i === n.children.length - 1 ? '└─ ' : '├─ '));
  };
  walk(root, '', '');
  return lines;
}

function money(perHour: number): string {
  const sign = perHour < 0 ? '-' : '+';
  const abs = Math.abs(perHour);
  return `${sign}$${abs >= 1 ? abs.toFixed(2) : abs.toFixed(4)}/h`;
}

/** What `homeostat why` prints: a header, the tree, totals, the scan and notes. */
export function renderWhy(tree: WhyTree): string[] {
  const root = tree.root;
  const what = tree.resolved.kind === 'event' ? 'event' : tree.resolved.kind;
  const lines = [`why ${what} ${tree.id}: root ${root.kind} ${root.id} at ${root.at}`, ...renderTree(root)];
  const actions = Object.entries(tree.totals.actions).map(([k, v]) => `${v} ${k}`);
  const figures = [
    `${tree.totals.events} events`,
    ...(actions.length > 0 ? [`actions: ${actions.join(', ')}`] : []),
    ...(tree.totals.resourceChanges > 0 ? [`${tree.totals.resourceChanges} resource changes`] : []),
    ...(tree.totals.costChanges > 0 ? [`cost delta ${money(tree.totals.costDeltaPerHour)}`] : []),
  ];
  lines.push(figures.join('; '));
  const s = tree.scan;
  const cut = s.truncated
    ? ` (truncated: the scan stopped at the ${s.reason === 'window' ? `end of the ${Math.round(s.windowMs / 60_000)}m window` : `${s.maxEvents}-event limit`}; raise --window or --max-events)`
    : '';
  lines.push(`scanned ${s.scanned} events (offsets ${s.fromOffset}..${s.toOffset})${cut}`);
  if (s.nodesTruncated) lines.push(`the tree was cut at ${s.nodes} nodes; raise --max-nodes to see more`);
  for (const note of tree.notes) lines.push(`note: ${note}`);
  return lines;
}

/** What `homeostat why-not` prints: the verdict, the reasons, and what to run next. */
export function renderWhyNot(r: WhyNotResult): string[] {
  const lines = [
    `${r.summary}`,
    `  rule ${r.rule}; event ${r.event.id} (${r.event.type} from ${r.event.source}, offset ${r.event.offset}, ${r.event.at})`,
    `  verdict: ${r.verdict}${r.fired ? ' (the rule fired)' : ''}`,
  ];
  for (const reason of r.reasons) lines.push(`  - ${reason.kind}: ${reason.message}`);
  if (r.fired && r.hint) lines.push(`see: ${r.hint}`);
  return lines;
}
