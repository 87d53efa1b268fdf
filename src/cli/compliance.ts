/** @module `homeostat compliance [--policy P] [-o json]`: compliant and violating resources, open violations and time to remediate. */
import { type Command, Option } from 'commander';
import type {
  ComplianceReport,
  CompliancePolicyReport,
  TimeToRemediate,
} from '../engine/policies/compliance-report.js';
import { type ClientFlags, clientFrom, examples, withClientOptions } from './options.js';
import { excerpt, formatTime, out, printJson, printTable } from './output.js';

interface ComplianceFlags extends ClientFlags {
  readonly policy?: string;
  readonly output?: 'table' | 'json';
}

/** Recently closed violations shown per policy in the table output. */
const RECENT = 10;

export function registerCompliance(program: Command): void {
  const cmd = program
    .command('compliance')
    .description('CompliancePolicy results: resources evaluated, open violations, remedies and time to remediate')
    .option('--policy <name>', 'only this CompliancePolicy (its name)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'));
  withClientOptions(cmd).action(runCompliance);
  examples(cmd, ['homeostat compliance', 'homeostat compliance --policy no-open-ssh', 'homeostat compliance -o json']);
}

async function runCompliance(flags: ComplianceFlags): Promise<void> {
  const { body } = await clientFrom(flags).request<ComplianceReport>('GET', '/v1/compliance', {
    query: { policy: flags.policy },
  });
  if (flags.json || flags.output === 'json') return printJson(body);
  printReport(body);
}

/** Milliseconds as a short human duration: 250ms, 1.2s, 3m10s, 2h5m. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1).replace(/\.?0+$/, '')}s`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes}m${Math.round((ms % 60_000) / 1000)}s`;
  return `${Math.floor(minutes / 60)}h${minutes % 60}m`;
}

function ttr(t: TimeToRemediate): string {
  return t.count === 0 ? '-' : `${formatMs(t.meanMs)} / ${formatMs(t.maxMs)} (${t.count})`;
}

export function printReport(report: ComplianceReport): void {
  if (report.policies.length === 0) {
    out('no CompliancePolicy is running; apply one with `homeostat apply -f examples/policies/no-open-ssh.yaml`');
    return;
  }
  printTable(
    [
      'POLICY',
      'REMEDY',
      'MODE',
      'EVALUATED',
      'COMPLIANT',
      'VIOLATING',
      'ERRORS',
      'OPEN',
      'LAST SCAN',
      'TTR MEAN / MAX (N)',
    ],
    report.policies.map((p) => [
      p.name,
      p.approval ? `${p.remedy} (approval)` : p.remedy,
      p.mode,
      String(p.evaluated),
      String(p.compliant),
      String(p.violating),
      String(p.errors.length),
      String(p.open.length),
      formatTime(p.lastScanAt),
      ttr(p.timeToRemediate),
    ]),
  );
  section('open violations', openRows(report.policies), [
    'POLICY',
    'RESOURCE',
    'SINCE',
    'REMEDY',
    'OUTCOME',
    'ACTION',
    'NOTE',
  ]);
  section('evaluation errors', errorRows(report.policies), ['POLICY', 'RESOURCE', 'ERROR']);
  section('recently remediated', closedRows(report.policies), [
    'POLICY',
    'RESOURCE',
    'RESOLUTION',
    'DETECTED',
    'TIME TO REMEDIATE',
    'ACTIONS',
  ]);
  const t = report.totals;
  out('');
  out(
    `${t.policies} policies, ${t.evaluated} resources evaluated: ${t.compliant} compliant, ${t.violating} violating, ${t.errors} errors; ${t.open} open violations; time to remediate ${ttr(t.timeToRemediate)}`,
  );
}

function section(title: string, rows: string[][], headers: string[]): void {
  if (rows.length === 0) return;
  out('');
  out(`${title}:`);
  printTable(headers, rows);
}

function openRows(policies: readonly CompliancePolicyReport[]): string[][] {
  return policies.flatMap((p) =>
    p.open.map((v) => {
      const last = v.attempts[v.attempts.length - 1];
      const outcome =
        v.outcome === undefined ? 'alerted' : last?.approval ? `${v.outcome} (${last.approval})` : v.outcome;
      return [
        p.name,
        v.resource,
        formatTime(v.since),
        v.remedy,
        outcome,
        last?.action ?? '-',
        excerpt(v.note ?? last?.why ?? '', 70),
      ];
    }),
  );
}

function errorRows(policies: readonly CompliancePolicyReport[]): string[][] {
  return policies.flatMap((p) => p.errors.map((e) => [p.name, e.resource, excerpt(e.message, 100)]));
}

function closedRows(policies: readonly CompliancePolicyReport[]): string[][] {
  return policies.flatMap((p) =>
    p.closed
      .slice(0, RECENT)
      .map((c) => [
        p.name,
        c.resource,
        c.resolution,
        formatTime(c.detectedAt),
        formatMs(c.timeToRemediateMs),
        c.actions.join(', ') || '-',
      ]),
  );
}
