/**
 * Scenario 6, reduced: 3 groups (one a batch group with an IdlePolicy and no owner tag), 2
 * simulated hours from 09:00 of the demand day (demand rising), up to ~500 instances, random
 * crashes and hangs, every policy kind in the real embedded engine on the sim provider's virtual
 * clock (bench/scenarios/sim-day/). Asserts behaviour only; no wall-clock thresholds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSimDay, type SimDayResult } from '../../bench/scenarios/sim-day/run.js';
import { INSTANCE_TYPE } from '../../bench/scenarios/sim-day/setup.js';

let r: SimDayResult;

beforeAll(async () => {
  r = await runSimDay({
    groups: 3,
    peakInstances: 500,
    hours: 2,
    startHour: 9,
    metricsIntervalMs: 15_000,
    stepMs: 5_000,
    quietMs: 10,
    seed: 7,
    crashPerHour: 0.02,
    hangPerHour: 0.005,
    targetRps: 70,
    idleGroup: true,
  });
}, 180_000);

afterAll(() => undefined);

const executed = (kind: string, action: string) =>
  [...r.m.actions.values()]
    .filter((a) => a.policyKind === kind && a.action === action && a.outcome === 'executed')
    .reduce((n, a) => n + a.count, 0);

describe('sim day (reduced): every policy at once on a simulated fleet', () => {
  it('scales out as the demand rises: each group ends larger than it started', () => {
    expect(executed('ScalingPolicy', 'scale')).toBeGreaterThan(0);
    for (const g of r.groups) {
      const last = r.m.samples.filter((s) => s.group === g.name).at(-1)!;
      const demandRose = r.infos.get(g.name)!.demandAt(last.t) > r.infos.get(g.name)!.demandAt(0) * 1.2;
      if (demandRose) expect(last.instances).toBeGreaterThan(g.initial);
    }
  });

  it('keeps serving capacity near the demand after the start-up hour', () => {
    // Loose bound from the demand curve: within the tolerance (10 %) plus what the demand can move
    // in one boot time and a scale-in stabilization window, and never saturated for long.
    const late = r.m.samples.filter((s) => s.t >= 3_600_000 && s.needed >= 5);
    expect(late.length).toBeGreaterThan(0);
    const errs = late.map((s) => Math.abs(s.serving - s.needed) / s.needed);
    const mean = errs.reduce((a, b) => a + b, 0) / errs.length;
    expect(mean).toBeLessThan(0.35);
    const saturated = late.filter((s) => s.serving * INSTANCE_TYPE.capacityRps < s.demandRps).length;
    expect(saturated / late.length).toBeLessThan(0.1);
  });

  it('heals injected failures through HealingPolicy replacements', () => {
    const failures = r.m.failureTimes.length;
    expect(failures).toBeGreaterThan(0);
    expect(executed('HealingPolicy', 'replace')).toBeGreaterThan(0);
    expect(executed('HealingPolicy', 'replace')).toBeGreaterThanOrEqual(Math.floor(failures / 2));
  });

  it('passes every automated action through the gate: each has a recorded outcome', () => {
    const outcomes = new Set([...r.m.actions.values()].map((a) => a.outcome));
    for (const o of outcomes) expect(['executed', 'refused', 'failed', 'dry-run']).toContain(o);
    const scaled = r.m.other.get('infra.group.scaled') ?? 0;
    // Every size change of a group was made by an executed gated action (scale, or an idle scale-to-min).
    expect(scaled).toBeLessThanOrEqual(executed('ScalingPolicy', 'scale') + executed('IdlePolicy', 'scale'));
  });

  it('reports the group without an owner tag as a compliance violation', () => {
    expect(r.m.other.get('compliance.violation.opened')).toBe(1);
  });
});
