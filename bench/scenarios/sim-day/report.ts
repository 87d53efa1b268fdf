/** @module The sim-day figures: tracking error per hour, time under capacity, cost, actions, failures, peers. */
import type { SimDayResult } from './run.js';
import type { PeerKind } from './peers.js';
import { INSTANCE_TYPE } from './setup.js';

interface Track {
  readonly meanErr: number;
  readonly p95Err: number;
  /** Share of samples with less serving capacity than the demand (saturated). */
  readonly under: number;
  /** Share of samples with fewer serving instances than needed at the target. */
  readonly belowTarget: number;
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
const usd = (x: number) => `$${x.toFixed(0)}`;

function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

/** Tracking over samples given serving counts; samples with no demand are left out of the error. */
function track(rows: readonly { needed: number; serving: number; demandRps: number }[]): Track {
  const errs = rows.filter((r) => r.needed > 0).map((r) => Math.abs(r.serving - r.needed) / r.needed);
  const n = Math.max(1, rows.length);
  return {
    meanErr: errs.reduce((a, b) => a + b, 0) / Math.max(1, errs.length),
    p95Err: quantile(errs, 0.95),
    under: rows.filter((r) => r.serving * INSTANCE_TYPE.capacityRps < r.demandRps).length / n,
    belowTarget: rows.filter((r) => r.serving < r.needed).length / n,
  };
}

function rowsOf(r: SimDayResult, who: 'homeostat' | PeerKind) {
  return r.m.samples.map((s) => {
    if (who === 'homeostat') return s;
    const st = r.peers[who].get(s.group)!(s.t);
    return { ...s, serving: st.serving, instances: st.instances };
  });
}

function cost(r: SimDayResult, who: 'homeostat' | PeerKind): Map<string, number> {
  const out = new Map<string, number>();
  const dt = r.options.metricsIntervalMs / 3_600_000;
  for (const s of rowsOf(r, who))
    out.set(s.group, (out.get(s.group) ?? 0) + s.instances * dt * INSTANCE_TYPE.pricePerHour);
  return out;
}

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

export function reportLines(r: SimDayResult): string[] {
  const o = r.options;
  const out: string[] = [];
  const who = ['homeostat', 'hpa', 'aws'] as const;
  out.push(
    `fleet:     ${o.groups} groups of ${INSTANCE_TYPE.name} (${INSTANCE_TYPE.capacityRps} rps each, $${INSTANCE_TYPE.pricePerHour}/h, boot ${INSTANCE_TYPE.bootMs / 1000} s), demand peaking near ${o.peakInstances} instances at ${o.targetRps} rps/instance`,
    `sim:       ${o.hours} h simulated, metrics every ${o.metricsIntervalMs / 1000} s, lockstep step ${o.stepMs / 1000} s (quiet ${o.quietMs} ms), seed ${o.seed}; faults: crash ${o.crashPerHour}/instance/h, hang ${o.hangPerHour}/instance/h`,
    `run:       ${(r.wallMs / 1000).toFixed(1)} s wall for ${r.steps} steps (${r.unsettled} did not settle within 30 s), ${r.events} events appended, ${r.m.samples.length} metrics samples`,
    '',
    'capacity tracking per hour: |serving − needed| / needed (needed = ceil(demand / target)); under = serving × capacity < demand',
    `  hour  demand(inst)  ${who.map((w) => `${w.padEnd(8)} mean/p95/under`.padEnd(30)).join('')}`,
  );
  const hours = Math.ceil(o.hours);
  for (let h = 0; h < hours; h++) {
    const inHour = (s: { t: number }) => s.t >= h * 3_600_000 && s.t < (h + 1) * 3_600_000;
    const hs = r.m.samples.filter(inHour);
    const times = new Set(hs.map((s) => s.t));
    const needed = hs.reduce((a, s) => a + s.needed, 0) / Math.max(1, times.size);
    const cells = who.map((w) => {
      const t = track(rowsOf(r, w).filter(inHour));
      return `${pct(t.meanErr)} / ${pct(t.p95Err)} / ${pct(t.under)}`.padEnd(30);
    });
    out.push(`  ${String(h).padStart(4)}  ${needed.toFixed(0).padStart(12)}  ${cells.join('')}`);
  }
  out.push('', 'whole run:');
  for (const w of who) {
    const t = track(rowsOf(r, w));
    const c = cost(r, w);
    out.push(
      `  ${w.padEnd(10)} tracking error mean ${pct(t.meanErr)}, p95 ${pct(t.p95Err)}; time under capacity ${pct(t.under)}, below target ${pct(t.belowTarget)}; cost ${usd(sum(c))}`,
    );
  }
  const staticCost = o.peakInstances * INSTANCE_TYPE.pricePerHour * o.hours;
  out.push(`  static fleet sized for the peak (${o.peakInstances} instances): ${usd(staticCost)}`);
  const hc = cost(r, 'homeostat');
  out.push(`  cost per group (homeostat): ${[...hc].map(([g, c]) => `${g} ${usd(c)}`).join(', ')}`);
  out.push('', 'actions (policy kind, action, outcome, rail):');
  for (const a of [...r.m.actions.values()].sort((x, y) => y.count - x.count)) {
    out.push(
      `  ${String(a.count).padStart(6)}  ${a.policyKind} ${a.action} ${a.outcome}${a.rail ? ` (${a.rail})` : ''}`,
    );
  }
  out.push('', 'failures and other events:');
  out.push(`  faults fired by the sim: ${JSON.stringify(r.faultsFired)}`);
  out.push(`  failure events seen: ${JSON.stringify(Object.fromEntries(r.m.failures))}`);
  out.push(`  instances started: ${r.m.started}`);
  for (const [k, v] of [...r.m.other].sort()) out.push(`  ${k}: ${v}`);
  return out;
}
