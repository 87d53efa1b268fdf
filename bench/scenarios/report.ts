/** @module The crash scenario's printed report: machine, command, settings, one row per fault, a summary. */
import { machineLines } from '../machine.js';
import { type FaultFigures, medianMax, type Overall } from './analyze.js';
import { FaultKind } from './fault.js';
import type { Outcome } from './load.js';
import type { ResolvedScenarioOptions } from './options.js';

const ms = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '—' : String(Math.round(n)));
const int = (n: number) => Math.round(n).toLocaleString('en-US');

function outcomes(by: Readonly<Partial<Record<Outcome, number>>>): string {
  const entries = Object.entries(by);
  return entries.length === 0 ? 'none' : entries.map(([k, n]) => `${k} × ${n}`).join(', ');
}

export function headerLines(o: ResolvedScenarioOptions, command: string, serverCommand: string): string[] {
  return [
    'Homeostat crash scenario: kill -9 and hang of one instance under load, detection and replacement',
    `healing:   ${o.modes.map(modeText).join('; then ')}`,
    `date:      ${new Date().toISOString()}`,
    `command:   ${command}`,
    ...machineLines(),
    `server:    ${serverCommand}`,
    `stack:     InstanceGroup web: ${o.instances} × examples/services/web.mjs (WORK_MS=${o.workMs}), health check GET /healthz every ${o.intervalMs} ms, timeout ${o.timeoutMs} ms, unhealthy after ${o.unhealthyThreshold} failures, healthy after 1; LoadBalancer round-robin on 127.0.0.1; SecurityRule 127.0.0.0/8`,
    `client:    GET / through the balancer, ${o.rate} req/s open loop, keep-alive (undici Pool), gives up after ${o.clientTimeoutMs} ms; ${o.settleMs} ms of steady load at full strength before each fault`,
    `faults:    ${o.runs} × kill -9 of one instance's pid, then ${o.runs} × POST /admin/hang to one instance (answers nothing from then on)`,
    'failures:  non-2xx answers, connection errors and client timeouts; "at victim" = failures whose balancer error names the failed instance (a client timeout names none)',
    'times:     ms after the fault (client clock just before kill or hang); detection and recovery from the events\' `time` (same machine clock); "on log" = the detection event\'s append time',
  ];
}

function modeText(mode: string): string {
  return mode === 'heal'
    ? 'heal = HealingPolicy/scenario-heal on group web (every failure kind, verify 30s, crash loop after every fault of the run +1 within 1m so the faults themselves never make one, blastRadius maxPercent 100 per max(1 s, settle)): chain detection → homeostat.action.executed (replace) → started → ready, incident opened → resolved'
    : 'none = no policy, the reconciler replaces: chain detection → infra.reconcile.decided → started → ready';
}

export function runLines(rows: readonly FaultFigures[]): string[] {
  const head = [
    'policy',
    'fault',
    'run',
    'victim → new',
    'detected',
    'on log',
    'decided / replace action',
    'started',
    'ready',
    'incident opened',
    'incident resolved',
    'window reqs',
    'failed',
    'at victim',
    'routed to victim after detection',
    'longest failed wait',
  ];
  const body = rows.map((r) => [
    r.mode,
    r.kind,
    String(r.run),
    `${r.victim} → ${r.replacement}`,
    ms(r.detectedMs),
    ms(r.onLogMs),
    ms(r.decidedMs),
    ms(r.startedMs),
    ms(r.readyMs),
    ms(r.incidentOpenedMs),
    ms(r.incidentResolvedMs),
    int(r.windowRequests),
    String(r.windowFailures),
    String(r.failuresAtVictim),
    String(r.routedToVictimAfterDetection),
    r.windowFailures === 0 ? '—' : ms(r.longestFailedWaitMs),
  ]);
  const notes = rows
    .filter((r) => r.windowFailures > 0)
    .map(
      (r) =>
        `  ${r.mode} ${r.kind} run ${r.run}: ${outcomes(r.failuresByOutcome)}; last failure ended ${ms(r.lastFailureMs)} ms after the fault; failed requests sent after detection: ${r.failedAfterDetection}; first: ${r.sampleFailure ?? ''}`,
    );
  return [...markdownTable(head, body), ...notes];
}

/** Median and max per fault kind, as a Markdown table (ready to paste into docs/SCENARIOS.md). */
export function summaryLines(rows: readonly FaultFigures[], total: Overall): string[] {
  const head = [
    'policy',
    'fault',
    'runs',
    'detected (median / max ms)',
    'on the log',
    'replace action / decision',
    'replacement ready',
    'incident opened',
    'incident resolved',
    'client failures per fault (median / max)',
    'routed to the victim after detection',
  ];
  const modes = [...new Set(rows.map((r) => r.mode))];
  const body = modes.flatMap((mode) => Object.values(FaultKind).flatMap((kind) => summaryRow(rows, mode, kind)));
  const routed = rows.reduce((n, r) => n + r.routedToVictimAfterDetection, 0);
  const check =
    routed === 0
      ? 'check:   ok, no request sent after a detection event reached the failed instance'
      : `check:   FAILED, ${routed} requests sent after a detection event reached the failed instance`;
  return [
    ...markdownTable(head, body),
    check,
    `overall: ${int(total.requests)} requests in ${total.seconds.toFixed(1)} s, ${total.failures} failed (${outcomes(total.failuresByOutcome)}), ${total.failuresOutsideWindows} of them outside the fault windows`,
  ];
}

/** The incidents' own figures (ms from the failure event's time), one line per heal-mode fault. */
export function incidentLines(rows: readonly FaultFigures[]): string[] {
  const keys = ['toActionMs', 'toReplacementMs', 'toVerifiedMs', 'toResolvedMs'] as const;
  return rows
    .filter((r) => r.incidentDetails !== undefined)
    .map((r) => {
      const d = r.incidentDetails!;
      const figs = keys.map((k) => `${k} ${typeof d[k] === 'number' ? ms(d[k]) : '—'}`).join(', ');
      return `  ${r.kind} run ${r.run}: ${figs}; failures ${String(d.failures)}, replacements ${String(d.replacements)}, verified ${String(d.verified)}`;
    });
}

function summaryRow(rows: readonly FaultFigures[], mode: string, kind: FaultKind): string[][] {
  const of = rows.filter((r) => r.kind === kind && r.mode === mode);
  if (of.length === 0) return [];
  const pair = (pick: (r: FaultFigures) => number | undefined) => {
    const values = of.map(pick).filter((v): v is number => v !== undefined);
    if (values.length === 0) return '—';
    const { median, max } = medianMax(values);
    return `${ms(median)} / ${ms(max)}`;
  };
  return [
    [
      mode,
      kind === FaultKind.kill ? 'kill -9 (crashed)' : 'hang (unhealthy)',
      String(of.length),
      pair((r) => r.detectedMs),
      pair((r) => r.onLogMs),
      pair((r) => r.decidedMs),
      pair((r) => r.readyMs),
      pair((r) => r.incidentOpenedMs),
      pair((r) => r.incidentResolvedMs),
      pair((r) => r.windowFailures),
      String(of.reduce((n, r) => n + r.routedToVictimAfterDetection, 0)),
    ],
  ];
}

export function markdownTable(head: readonly string[], body: readonly (readonly string[])[]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]?.length ?? 0)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)];
}
