import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ProviderEvent } from '../../ports/provider.js';
import type { SimFaultInput } from './faults.js';
import type { SimMetrics } from './metrics.js';
import { createSimProvider, type SimProvider } from './provider.js';
import { simGroup } from './resources.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

interface Scenario {
  readonly seed: number;
  readonly groups: number;
  readonly perGroup: number;
  readonly durationMs: number;
  readonly faults: readonly SimFaultInput[];
}

interface Run {
  readonly sim: SimProvider;
  readonly counts: Record<string, number>;
  readonly hash: string;
  readonly events: ProviderEvent[] | undefined;
  readonly wallMs: number;
}

/**
 * Runs a scenario: groups under a noisy diurnal demand, the given faults, and `converge` every
 * 15 s as a stand-in for the engine's reconciler (it starts replacements for crashed instances).
 */
async function runScenario(s: Scenario, keepEvents: boolean): Promise<Run> {
  const started = performance.now();
  const names = Array.from({ length: s.groups }, (_, i) => `g${i}`);
  const demand = { kind: 'diurnal', min: 20 * s.perGroup, max: 90 * s.perGroup, noise: 0.05 } as const;
  const sim = createSimProvider({
    seed: s.seed,
    groups: Object.fromEntries(names.map((n) => [n, { demand }])),
    faults: s.faults,
  });
  const hash = createHash('sha256');
  const counts: Record<string, number> = {};
  const events: ProviderEvent[] | undefined = keepEvents ? [] : undefined;
  await sim.start((e) => {
    counts[e.type] = (counts[e.type] ?? 0) + 1;
    hash.update(JSON.stringify(e));
    events?.push(e);
  });
  for (const name of names) {
    const group = simGroup(name, { desired: s.perGroup, max: 2 * s.perGroup, instanceType: 'sim.large' });
    await sim.apply({ op: 'create', resource: group, cause: `create-${name}` });
  }
  sim.converge('initial');
  let passes = 0;
  sim.clock.every(15_000, () => sim.converge(`pass-${++passes}`));
  sim.clock.advance(s.durationMs);
  const wallMs = performance.now() - started;
  return { sim, counts, hash: hash.digest('hex'), events, wallMs };
}

const MIXED_FAULTS: readonly SimFaultInput[] = [
  { kind: 'crash', probabilityPerHour: 0.05 },
  { kind: 'hang', probabilityPerHour: 0.02, duration: '2m' },
  { kind: 'crash', at: '10m', count: 25 },
  { kind: 'slow-boot', probability: 0.1, factor: 3 },
  { kind: 'zone-outage', zone: 'b', at: '20m', duration: '10m', mode: 'unreachable' },
  { kind: 'zone-outage', zone: 'c', at: '40m', duration: '5m', mode: 'crash' },
];

describe('sim determinism and scale', () => {
  it('produces a byte-identical event sequence for the same seed and inputs, and a different one for another seed', async () => {
    const scenario = { seed: 1234, groups: 3, perGroup: 40, durationMs: 30 * MIN, faults: MIXED_FAULTS };
    const a = await runScenario(scenario, true);
    const b = await runScenario(scenario, true);
    expect(a.events!.length).toBeGreaterThan(5_000);
    expect(JSON.stringify(a.events)).toBe(JSON.stringify(b.events));
    expect(JSON.stringify(await a.sim.observe())).toBe(JSON.stringify(await b.sim.observe()));
    expect(a.sim.faultLog()).toEqual(b.sim.faultLog());
    const c = await runScenario({ ...scenario, seed: 4321 }, false);
    expect(c.hash).not.toBe(a.hash);
  });

  it('runs 10,000 instances for an hour of virtual time with failures in seconds, and deterministically', async () => {
    const scenario = { seed: 7, groups: 10, perGroup: 1_000, durationMs: HOUR, faults: MIXED_FAULTS };
    const run = await runScenario(scenario, true);
    const { sim, counts, events } = run;
    console.log(
      `sim: 10,000 instances, 1 h virtual, ${events!.length} events in ${Math.round(run.wallMs)} ms wall time`,
    );
    const at = (e: ProviderEvent) => e.time - sim.simStart;
    const initial = events!.filter((e) => e.type === 'instance.started' && at(e) === 0);
    expect(initial).toHaveLength(10_000);
    // One metrics sample per group per second.
    expect(counts.metrics).toBe(10 * 3_600);
    // The zone-b outage makes its third of the fleet unreachable: each is marked unhealthy, then healthy.
    const zoneB = events!.filter(
      (e) => e.type === 'instance.unhealthy' && at(e) >= 20 * MIN && at(e) < 20 * MIN + 5_000,
    );
    expect(zoneB.length).toBeGreaterThan(3_000);
    expect(zoneB.every((e) => e.data.zone === 'b')).toBe(true);
    // The zone-c outage crashes only zone-c instances, all at 40 minutes.
    const zoneC = events!.filter((e) => e.type === 'instance.crashed' && e.data.reason === 'zone-outage');
    expect(zoneC.length).toBeGreaterThan(3_000);
    expect(zoneC.every((e) => e.data.zone === 'c' && at(e) === 40 * MIN)).toBe(true);
    // Every crash the fault log records was reported as an event.
    const crashedByFaults = sim
      .faultLog()
      .filter((r) => r.kind === 'crash')
      .reduce((n, r) => n + r.targets.length, 0);
    expect(counts['instance.crashed']).toBe(crashedByFaults + zoneC.length);
    // The stand-in reconciler restored the fleet: 10,000 live instances at the end.
    const c = sim.counts();
    expect(c.starting + c.running).toBe(10_000);
    expect(c.healthy).toBeGreaterThan(9_500);
    // Each group's last sample reflects the restored capacity.
    const last = events!
      .filter((e) => e.type === 'metrics')
      .slice(-10)
      .map((e) => e.data as unknown as SimMetrics);
    expect(last.every((m) => m.instances > 950 && m.perInstanceOmitted === true)).toBe(true);
    const again = await runScenario(scenario, false);
    expect(again.hash).toBe(run.hash);
  });
});
