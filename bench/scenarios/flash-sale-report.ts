/** @module The flash-sale scenario's printed report: machine, command, settings, each run, a summary, the peers. */
import { machineLines } from '../machine.js';
import { medianMax } from './analyze.js';
import { arithmetic, type FlashFigures, type ScaleStep, type WindowStats } from './flash-sale-analyze.js';
import type { ResolvedFlashSaleOptions } from './flash-sale-options.js';

const ms = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '—' : String(Math.round(n)));
const pct = (n: number | undefined) => (n === undefined ? '—' : `${(n * 100).toFixed(2)} %`);

export function flashHeaderLines(o: ResolvedFlashSaleOptions, command: string, serverCommand: string): string[] {
  const rise = o.riseMs === 0 ? 'at once (a step)' : `linearly over ${o.riseMs} ms`;
  return [
    'Homeostat flash-sale scenario: 10× load in seconds, time to the scale decision and to new capacity serving',
    `date:      ${new Date().toISOString()}`,
    `command:   ${command}`,
    ...machineLines(),
    `server:    ${serverCommand} (config: providers.local.metricsInterval ${o.metricsIntervalMs}ms)`,
    `stack:     InstanceGroup web: ${o.minInstances} × examples/services/web.mjs (WORK_MS=${o.workMs}), min ${o.minInstances}, max ${o.maxInstances}, health check GET /healthz every ${o.healthIntervalMs} ms, healthy after 1; LoadBalancer round-robin on 127.0.0.1; SecurityRule 127.0.0.0/8`,
    `policy:    ScalingPolicy web: target tracking data.rpsPerInstance (derived data.rps / data.instances) at ${o.target}, tolerance 0.1, min ${o.minInstances}, max ${o.maxInstances}, scaleOut cooldown ${o.scaleOutCooldownMs} ms (no maxStep), scaleIn stabilization ${o.scaleInStabilizationMs} ms, cooldown 5 s`,
    `client:    GET / through the balancer, open loop, keep-alive (undici Pool), gives up after ${o.clientTimeoutMs} ms; per run: ${o.baseRate} req/s for ${o.baseMs} ms at base size, rise to ${o.peakRate} req/s ${rise}, ${o.peakMs} ms at the peak, back to ${o.baseRate} req/s until the scale-in and the return to ${o.minInstances} instances`,
    'times:     ms after the rise (client clock when the rate left the base), from the events\' `time` (same machine clock); "on log" = the action event\'s append time',
    'windows:   before = the base load before the rise; rise = sent from the rise until every instance of every scale-out before the drop was ready; peak = from then to the drop (by send time). Failures = non-2xx, connection errors, client timeouts',
  ];
}

function scaleLine(label: string, s: ScaleStep, atMs: number | undefined): string[] {
  const m = s.metrics;
  const cause = m
    ? `decided on infra.metrics ${m.id} (time +${ms(m.time - s.action.time + (atMs ?? 0))} ms; rps ${Number(m.data.rps).toFixed(1)}, instances ${String(m.data.instances)}, inFlight ${String(m.data.inFlight)})`
    : `causationid ${s.action.causationid ?? 'none'} (not an infra.metrics event on the log)`;
  return [
    `  ${label}: ${s.action.id} ${s.from} → ${s.to} at +${ms(atMs)} ms; ${cause}`,
    `    reason: ${String(s.action.data.reason)}`,
    `    inputs: ${arithmetic(s.action)}`,
  ];
}

export function flashRunLines(f: FlashFigures): string[] {
  const lines = [`run ${f.times.run}:`];
  const b = f.before;
  if (b) lines.push(`  before: rps ${Number(b.data.rps).toFixed(1)} over ${String(b.data.instances)} instances`);
  if (f.out) {
    lines.push(...scaleLine('first scale-out', f.out, f.decidedMs));
    lines.push(
      `    on the log +${ms(f.decisionOnLogMs)} ms; started ${f.out.started.map((e) => e.subject.slice(9)).join(', ')}; ` +
        `ready first +${ms(f.firstReadyMs)} ms, all +${ms(f.allReadyMs)} ms (${f.out.readyCausedByAction}/${f.out.ready.length} ready events in the action's causal chain); ` +
        `first request answered by a new instance (${f.firstServedBy ?? '—'}) ended +${ms(f.firstServedMs)} ms`,
    );
  } else lines.push('  no scale-out between the rise and the drop');
  for (const s of f.outs.slice(1)) {
    lines.push(
      `  further scale-out: ${s.from} → ${s.to} at +${ms(s.action.time - f.times.riseAt)} ms (${String(s.action.data.reason)}); ` +
        `${s.started.length} started, ${s.readyCausedByAction}/${s.ready.length} ready in its causal chain`,
    );
  }
  if (f.out)
    lines.push(`  peak size ${f.peakSize ?? '—'}: every instance of every scale-out ready at +${ms(f.settledMs)} ms`);
  if (f.scaleIn)
    lines.push(...scaleLine('scale-in', f.scaleIn, f.scaleInMs).map((l, i) => (i === 0 ? `${l} after the drop` : l)));
  else lines.push('  no scale-in after the drop');
  const w = (name: string, s: WindowStats) =>
    `  ${name.padEnd(7)} ${String(s.requests).padStart(6)} requests, ${s.failures} failed (${pct(s.errorRate)}), p50 ${ms(s.p50)} ms, p99 ${ms(s.p99)} ms`;
  lines.push(w('before', f.windows.before), w('rise', f.windows.rise), w('peak', f.windows.peak));
  lines.push(`  share of peak requests answered by the first scale-out's instances: ${pct(f.peakShareOnNew)}`);
  return lines;
}

export function flashSummaryLines(rows: readonly FlashFigures[]): string[] {
  const pair = (pick: (f: FlashFigures) => number | undefined) => {
    const values = rows.map(pick).filter((v): v is number => v !== undefined && Number.isFinite(v));
    if (values.length === 0) return '—';
    const { median, max } = medianMax(values);
    return `${ms(median)} / ${ms(max)}`;
  };
  const head = ['figure (median / max over runs)', 'value'];
  const body: string[][] = [
    ['rise → scale-out decided (ms)', pair((f) => f.decidedMs)],
    ['rise → decision on the log (ms)', pair((f) => f.decisionOnLogMs)],
    ['rise → first new instance ready (ms)', pair((f) => f.firstReadyMs)],
    ['rise → all new instances ready (ms)', pair((f) => f.allReadyMs)],
    ['rise → first request answered by a new instance (ms)', pair((f) => f.firstServedMs)],
    ["rise → every scale-out's instances ready (peak capacity, ms)", pair((f) => f.settledMs)],
    ['first scale-out to / peak size', `${pair((f) => f.out?.to)} · ${pair((f) => f.peakSize)}`],
    [
      'error rate before / rise / peak (%)',
      `${pair((f) => f.windows.before.errorRate * 100)} · ${pair((f) => f.windows.rise.errorRate * 100)} · ${pair((f) => f.windows.peak.errorRate * 100)}`,
    ],
    [
      'p99 latency before / rise / peak (ms)',
      `${pair((f) => f.windows.before.p99)} · ${pair((f) => f.windows.rise.p99)} · ${pair((f) => f.windows.peak.p99)}`,
    ],
    [
      'p50 latency before / rise / peak (ms)',
      `${pair((f) => f.windows.before.p50)} · ${pair((f) => f.windows.rise.p50)} · ${pair((f) => f.windows.peak.p50)}`,
    ],
    ['drop → scale-in decided (ms)', pair((f) => f.scaleInMs)],
  ];
  return markdownTable(head, body);
}

export function peerLines(rows: readonly FlashFigures[], o: ResolvedFlashSaleOptions): string[] {
  const med = (pick: (f: FlashFigures) => number | undefined) => {
    const v = rows.map(pick).filter((x): x is number => x !== undefined);
    return v.length === 0 ? '—' : `${ms(medianMax(v).median)} ms`;
  };
  const head = ['', 'Homeostat (this run, median)', 'Kubernetes HPA (defaults)', 'AWS target tracking (defaults)'];
  const body = [
    ['metrics every', `${o.metricsIntervalMs} ms`, 'metrics-server scrape 15 s (up to 60 s)', 'CloudWatch 1 min'],
    [
      'rise → decision',
      med((f) => f.decidedMs),
      '15 to 55 s (15 s sync period + scrape)',
      '≈ 3 min (alarm after 3 data points of 1 min)',
    ],
    [
      'rise → new capacity serving',
      med((f) => f.firstServedMs),
      'decision + pod start and readiness',
      'decision + instance launch and warm-up',
    ],
    [
      'scale-in after the drop',
      med((f) => f.scaleInMs),
      '300 s stabilization (+ sync)',
      '15 data points of 1 min (≈ 15 min) for the low alarm',
    ],
  ];
  return markdownTable(head, body);
}

function markdownTable(head: readonly string[], body: readonly (readonly string[])[]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]?.length ?? 0)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)];
}
