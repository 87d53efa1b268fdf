/** @module The benchmark's printed report: machine header, per-scenario details, summary table, aims. */
import type { CpuShare } from './cpu.js';
import type { ScenarioResult } from './drive.js';
import type { HomeostatResults } from './homeostat.js';
import type { PeerResults } from './nats.js';
import type { FsyncMode } from './options.js';

export interface HomeostatRun {
  readonly fsync: FsyncMode;
  readonly command: string;
  readonly results: HomeostatResults;
}

export interface PeerRun {
  readonly name: 'NATS JetStream' | 'Redis Streams';
  readonly results: PeerResults | undefined;
  /** Why the peer has no figures, when it failed. */
  readonly error?: string;
}

export const AIMS = {
  batchEventsPerSec: 150_000,
  batchVsNats: 2,
  singleEventsPerSec: 15_000,
  halfRateP99Ms: 10,
} as const;

const fmtRate = (n: number | undefined) =>
  n === undefined || !Number.isFinite(n) ? '—' : Math.round(n).toLocaleString('en-US');
const fmtMs = (n: number | undefined) =>
  n === undefined || !Number.isFinite(n) ? '—' : n < 10 ? n.toFixed(2) : n.toFixed(1);
const fmtRatio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || !(b > 0) ? '—' : `${(a / b).toFixed(2)}×`;
const fmtCpu = (c: CpuShare | undefined) =>
  c === undefined
    ? '—'
    : [c.client, c.server, c.other].map((v) => (Number.isFinite(v) ? v.toFixed(2) : '?')).join(' / ');
const mib = (bytes: number | undefined) => (bytes === undefined ? '—' : `${(bytes / 2 ** 20).toFixed(1)} MiB`);

export function detailLines(rows: readonly (readonly [string, ScenarioResult])[]): string[] {
  const head = [
    'scenario',
    'events/s',
    'p50 ms',
    'p99 ms',
    'max ms',
    'requests',
    'secs',
    'CPU client/server/other',
    'client lag p99/max',
    'failures',
  ];
  const body = rows.map(([name, r]) => [
    name,
    fmtRate(r.eventsPerSec),
    fmtMs(r.latency.p50),
    fmtMs(r.latency.p99),
    fmtMs(r.latency.max),
    fmtRate(r.requests),
    r.seconds.toFixed(1),
    fmtCpu(r.cpu),
    `${fmtMs(r.clientLag.p99)} / ${fmtMs(r.clientLag.max)}`,
    failureText(r),
  ]);
  const notes = rows.flatMap(([name, r]) => [
    ...r.notes.map((n) => `  note (${name}): ${n}`),
    ...Object.entries(r.failureSamples).map(([kind, sample]) => `  first '${kind}' (${name}): ${sample}`),
  ]);
  return [...table(head, body), ...notes];
}

function failureText(r: ScenarioResult): string {
  const entries = Object.entries(r.failures);
  return entries.length === 0 ? 'none' : entries.map(([kind, n]) => `${kind}: ${n}`).join(', ');
}

/** The summary as a Markdown table: one row per scenario and fsync mode, peers beside. */
export function summaryLines(runs: readonly HomeostatRun[], peers: readonly PeerRun[]): string[] {
  const nats = peers.find((p) => p.name === 'NATS JetStream')?.results;
  const redis = peers.find((p) => p.name === 'Redis Streams')?.results;
  const head = ['scenario', 'Homeostat ev/s', 'p50 ms', 'p99 ms', 'NATS ev/s', 'Redis ev/s', 'H/NATS', 'H/Redis'];
  const rows: string[][] = [];
  for (const { fsync, results: h } of runs) {
    const row = (name: string, r: ScenarioResult, n: ScenarioResult | undefined, d: ScenarioResult | undefined) => [
      `${name} (fsync=${fsync})`,
      fmtRate(r.eventsPerSec),
      fmtMs(r.latency.p50),
      fmtMs(r.latency.p99),
      fmtRate(n?.eventsPerSec),
      fmtRate(d?.eventsPerSec),
      fmtRatio(r.eventsPerSec, n?.eventsPerSec),
      fmtRatio(r.eventsPerSec, d?.eventsPerSec),
    ];
    rows.push(row('single, closed loop', h.single, nats?.single, redis?.single));
    rows.push(row(`single @ ${fmtRate(h.halfRateTarget)}/s (half)`, h.halfRate, undefined, undefined));
    rows.push(row('batch, closed loop', h.batch, nats?.batch, redis?.batch));
  }
  return markdownTable(head, rows);
}

export function aimLines(runs: readonly HomeostatRun[], peers: readonly PeerRun[]): string[] {
  const natsBatch = peers.find((p) => p.name === 'NATS JetStream')?.results?.batch.eventsPerSec;
  const mark = (ok: boolean | undefined) => (ok === undefined ? 'n/a' : ok ? 'MET' : 'NOT MET');
  const lines: string[] = [];
  for (const { fsync, results: h } of runs) {
    const batch = h.batch.eventsPerSec;
    const single = h.single.eventsPerSec;
    const p99 = h.halfRate.latency.p99;
    const clean = (r: ScenarioResult) => Object.keys(r.failures).length === 0;
    lines.push(
      `fsync=${fsync}: batched ≥ ${fmtRate(AIMS.batchEventsPerSec)} events/s: ${fmtRate(batch)} → ${mark(batch >= AIMS.batchEventsPerSec && clean(h.batch))}`,
      `fsync=${fsync}: batched ≥ ${AIMS.batchVsNats}× NATS JetStream batched (${fmtRate(natsBatch)}): ${fmtRatio(batch, natsBatch)} → ${mark(natsBatch === undefined ? undefined : batch >= AIMS.batchVsNats * natsBatch)}`,
      `fsync=${fsync}: single-event ≥ ${fmtRate(AIMS.singleEventsPerSec)} events/s: ${fmtRate(single)} → ${mark(single >= AIMS.singleEventsPerSec && clean(h.single))}`,
      `fsync=${fsync}: p99 < ${AIMS.halfRateP99Ms} ms at half the single-event rate (${fmtRate(h.halfRateTarget)}/s): ${fmtMs(p99)} ms → ${mark(p99 < AIMS.halfRateP99Ms && clean(h.halfRate))}`,
    );
  }
  return lines;
}

export function serverLines(runs: readonly HomeostatRun[]): string[] {
  return runs.map(({ fsync, results: h }) => {
    const check = h.logCount === h.acknowledged ? 'matches' : 'MISMATCH';
    return `fsync=${fsync}: peak RSS (VmHWM) ${mib(h.peakRss)}; events acknowledged ${fmtRate(h.acknowledged)}, GET /v1/log count ${fmtRate(h.logCount)} (${check})`;
  });
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)];
}

function markdownTable(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(head), rule, ...rows.map(line)];
}
