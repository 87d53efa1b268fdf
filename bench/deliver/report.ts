/** @module The delivery benchmark's report: header, one line per scenario, and the aims. */
import { machineLines } from '../machine.js';
import type { CpuShare } from '../ingest/cpu.js';
import type { PacedResult, SustainedResult } from './load.js';
import type { ResolvedDeliverOptions } from './options.js';

/** The aims from the issue: at 1,000 events/s, p50 under 2 ms and p99 under 10 ms. */
export const AIM = { rate: 1000, p50Ms: 2, p99Ms: 10 } as const;

const f = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '—');
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const cpu = (c: CpuShare | undefined) => (c ? `${f(c.client)} / ${f(c.server)} / ${f(c.other)}` : '— / — / —');

export function headerLines(o: ResolvedDeliverOptions, command: string, serverCommand: string): string[] {
  return [
    'Homeostat delivery benchmark',
    `date:      ${new Date().toISOString()}`,
    `command:   ${command}`,
    ...machineLines(),
    `server:    ${serverCommand}`,
    `rule:      type bench.deliver → one http target (POST of the whole event, concurrency ${o.targetConcurrency}, timeout 5 s) to a receiver in this process on 127.0.0.1`,
    `settings:  ${o.durationSec} s measured after ${o.warmupSec} s warm-up per scenario; paced: ${o.pacedBatch === 1 ? 'one event' : `${o.pacedBatch} events`} per request, ${o.connections} keep-alive connections, open loop; sustained: batches of ${o.batchSize}, ${o.batchConnections} posters, ingest held while > ${int(o.maxLag)} events await delivery`,
    'latency:   per event, from the client reading the 201 of POST /v1/events to the receiver parsing the delivery request (same process clock); ingest: from the scheduled send of a request to its 201',
  ];
}

export function pacedLines(results: readonly PacedResult[]): string[] {
  const head =
    'scenario          acked ev/s  delivered/acked  e2e p50 ms  p99 ms  max ms  ingest p50/p99 ms  CPU client/server/other  client lag p99/max  failures';
  const rows = results.map((r) =>
    [
      `paced ${int(r.rate)}/s`.padEnd(16),
      int(r.ackedPerSec).padStart(11),
      `${int(r.delivered)}/${int(r.acked)}`.padStart(16),
      f(r.e2e.p50).padStart(11),
      f(r.e2e.p99).padStart(7),
      f(r.e2e.max, 1).padStart(7),
      `${f(r.ingest.p50)} / ${f(r.ingest.p99)}`.padStart(18),
      cpu(r.cpu).padStart(24),
      `${f(r.clientLag.p99)} / ${f(r.clientLag.max, 1)}`.padStart(19),
      `  ${r.failures === 0 ? 'none' : `${r.failures} (first: ${r.firstFailure})`}`,
    ].join(' '),
  );
  const notes = results
    .filter((r) => r.beforeAck > 0)
    .map(
      (r) =>
        `  at ${int(r.rate)}/s: ${int(r.beforeAck)} ${r.beforeAck === 1 ? 'delivery' : 'deliveries'} arrived before the client read the ack (counted as 0 ms)`,
    );
  return [head, ...rows, ...notes];
}

export function sustainedLines(r: SustainedResult): string[] {
  return [
    'scenario          deliveries/s  ingest ev/s  backlog at end  CPU client/server/other  client lag p99/max  failures',
    [
      'sustained'.padEnd(16),
      int(r.deliveredPerSec).padStart(13),
      int(r.ackedPerSec).padStart(12),
      int(r.backlogAtEnd).padStart(15),
      cpu(r.cpu).padStart(24),
      `${f(r.clientLag.p99)} / ${f(r.clientLag.max, 1)}`.padStart(19),
      `  ${r.failures === 0 ? 'none' : `${r.failures} (first: ${r.firstFailure})`}`,
    ].join(' '),
  ];
}

/** MET / NOT MET for the aims, from the paced run at AIM.rate (absent: not measured). */
export function aimLines(results: readonly PacedResult[]): string[] {
  const r = results.find((x) => x.rate === AIM.rate);
  if (!r) return [`no paced run at ${AIM.rate}/s: aims not measured (add it to BENCH_RATES)`];
  const complete = r.failures === 0 && r.delivered === r.acked;
  const verdict = (ok: boolean) => (ok && complete ? 'MET' : 'NOT MET');
  const lines = [
    `p50 < ${AIM.p50Ms} ms at ${int(AIM.rate)} events/s: ${f(r.e2e.p50)} ms → ${verdict(r.e2e.p50 < AIM.p50Ms)}`,
    `p99 < ${AIM.p99Ms} ms at ${int(AIM.rate)} events/s: ${f(r.e2e.p99)} ms → ${verdict(r.e2e.p99 < AIM.p99Ms)}`,
  ];
  if (!complete)
    lines.push(`(not met: ${r.failures} failed posts, ${r.acked - r.delivered} acknowledged events not delivered)`);
  return lines;
}
