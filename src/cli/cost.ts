/** @module `homeostat cost`: the cost rate now, cost to date, the month's forecast, budgets and recent cost changes with their causes. */
import { type Command, Option } from 'commander';
import type { BudgetStatus } from '../engine/finops/budgets.js';
import type { CostReport } from '../engine/finops/report.js';
import { type ClientFlags, clientFrom, examples, parseIntFlag, withClientOptions } from './options.js';
import { out, printJson, printTable } from './output.js';

interface CostFlags extends ClientFlags {
  readonly by: 'group' | 'stack' | 'tag';
  readonly tag?: string;
  readonly since?: string;
  readonly stack?: string;
  readonly group?: string;
  readonly changes?: string;
  readonly output: 'table' | 'json';
}

export function registerCost(program: Command): void {
  const cost = program
    .command('cost')
    .description(
      'cost rate, cost to date and forecast by group, stack or tag; budgets; recent cost changes and what caused them',
    )
    .addOption(new Option('--by <dimension>', 'roll costs up by').choices(['group', 'stack', 'tag']).default('group'))
    .option('--tag <key>', "with --by tag: one tag key's values instead of every key=value pair")
    .option(
      '--since <time>',
      'window start: RFC 3339, epoch ms or a duration ago such as 24h (default: start of the month)',
    )
    .option('--stack <name>', 'only this stack')
    .option('--group <name>', 'only this group')
    .option('--changes <n>', 'recent cost changes to show (default 10)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'));
  withClientOptions(cost).action(runCost);
  examples(cost, [
    'homeostat cost',
    'homeostat cost --by stack --since 24h',
    'homeostat cost --by tag --tag team -o json',
  ]);
}

async function runCost(flags: CostFlags): Promise<void> {
  const changes = parseIntFlag('--changes', flags.changes, 0, 500) ?? 10;
  const { body } = await clientFrom(flags).request<CostReport>('GET', '/v1/cost', {
    query: {
      by: flags.by,
      tag: flags.tag,
      since: flags.since,
      stack: flags.stack,
      group: flags.group,
      changes,
    },
  });
  if (flags.json || flags.output === 'json') return printJson(body);
  printReport(body);
}

const money = (v: number): string => `$${v < 10 ? v.toFixed(4) : v.toFixed(2)}`;
const rate = (v: number): string => `${money(v)}/h`;

export function printReport(r: CostReport): void {
  out(`cost at ${r.at} (${r.currency})`);
  out(`  rate now        ${rate(r.ratePerHour)} (${r.instances} instance${r.instances === 1 ? '' : 's'} running)`);
  out(`  since ${r.window.since}  ${money(r.window.cost)}`);
  out(
    `  month to date   ${money(r.month.toDate)}   forecast to ${r.month.end.slice(0, 10)}: ${money(r.month.forecast)}`,
  );
  if (r.trackingSince) out(`  tracked since   ${r.trackingSince}`);
  out('');
  if (r.rows.length > 0) {
    printTable(
      [r.by.toUpperCase(), 'INSTANCES', 'RATE', 'WINDOW', 'MONTH TO DATE', 'FORECAST'],
      r.rows.map((row) => [
        row.key,
        String(row.instances),
        rate(row.ratePerHour),
        money(row.cost),
        money(row.monthToDate),
        money(row.forecast),
      ]),
    );
    out('');
  }
  printBudgets(r.budgets);
  if (r.anomalies.length > 0) {
    out('anomalies:');
    for (const a of r.anomalies) {
      out(
        `  ${String(a.time)} ${String(a.subject)}: ${rate(Number(a.ratePerHour))} vs baseline ${rate(Number(a.baselinePerHour))}`,
      );
    }
    out('');
  }
  if (r.changes.length > 0) {
    out('recent cost changes:');
    for (const c of r.changes) out(`  ${new Date(c.at).toISOString()}  ${c.text}`);
  }
}

function printBudgets(budgets: readonly BudgetStatus[]): void {
  if (budgets.length === 0) return;
  printTable(
    ['BUDGET', 'SCOPE', 'PERIOD', 'SPENT', 'FORECAST', 'AMOUNT', 'STATUS', 'THRESHOLDS'],
    budgets.map((b) => [
      b.budget,
      b.scope,
      b.period.name,
      money(b.spent),
      money(b.forecast),
      money(b.amount),
      b.status,
      b.thresholds.map((t) => `${t.kind} ${t.percent}%${t.crossed ? ' (crossed)' : ''}`).join(', '),
    ]),
  );
  out('');
}
