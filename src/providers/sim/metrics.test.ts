import { describe, expect, it } from 'vitest';
import type { ProviderEvent } from '../../ports/provider.js';
import type { SimMetrics } from './metrics.js';
import type { SimProviderOptions } from './options.js';
import { createSimProvider } from './provider.js';
import { simGroup } from './resources.js';

const MIN = 60_000;

async function startSim(options: SimProviderOptions = {}) {
  const sim = createSimProvider(options);
  const events: ProviderEvent[] = [];
  await sim.start((e) => events.push(e));
  const metrics = (group: string) =>
    events
      .filter((e) => e.type === 'metrics' && e.subject === `instancegroup/${group}`)
      .map((e) => e.data as unknown as SimMetrics);
  const last = (group: string) => metrics(group).at(-1)!;
  return { sim, events, metrics, last };
}

describe('sim metrics', () => {
  it('publishes one metrics event per group per interval, 1 s of virtual time by default', async () => {
    const { sim, events } = await startSim({ groups: { web: { demand: 100 } } });
    await sim.apply({ op: 'create', resource: simGroup('web', { desired: 2 }) });
    sim.converge();
    await sim.apply({ op: 'create', resource: simGroup('db', { desired: 1 }) });
    sim.converge();
    sim.clock.advance(10_000);
    const samples = events.filter((e) => e.type === 'metrics');
    expect(samples).toHaveLength(20);
    expect(samples.map((e) => e.time - sim.simStart).slice(0, 4)).toEqual([1_000, 1_000, 2_000, 2_000]);
    expect(samples.map((e) => e.subject).slice(0, 2)).toEqual(['instancegroup/web', 'instancegroup/db']);
  });

  it('follows the metrics interval it is given', async () => {
    const { sim, events } = await startSim({ metricsInterval: '250ms' });
    await sim.apply({ op: 'create', resource: simGroup('web', { desired: 1 }) });
    sim.converge();
    sim.clock.advance(1_000);
    expect(events.filter((e) => e.type === 'metrics')).toHaveLength(4);
  });

  it('reports load within capacity without errors, with CPU and memory per instance', async () => {
    const { sim, last } = await startSim({ groups: { web: { demand: 150 } } });
    await sim.apply({ op: 'create', resource: simGroup('web', { desired: 3 }) });
    sim.converge();
    sim.clock.advance(MIN);
    const m = last('web');
    expect(m).toMatchObject({
      group: 'web',
      rps: 150,
      errorRate: 0,
      instances: 3,
      rpsPerInstance: 50,
      capacityRps: 100,
    });
    expect(m.utilisation).toBe(0.5);
    expect(Object.keys(m.cpu.perInstance)).toEqual(['web-1', 'web-2', 'web-3']);
    // CPU in cores: half-used sim.medium instances (2 vCPUs) use about one core each.
    expect(m.cpu.avg).toBeCloseTo(1.02, 2);
    expect(m.memoryMiB.avg).toBeGreaterThan(220);
    expect(m.latencyMs.p50).toBeLessThan(m.latencyMs.p99);
    expect(m.inFlight).toBeGreaterThan(0);
  });

  it('raises latency and error rate when demand exceeds capacity, and lowers them after scaling out', async () => {
    const { sim, last } = await startSim({
      groups: { web: { demand: { kind: 'step', rps: 100, steps: [{ at: '2m', rps: 500 }] } } },
    });
    await sim.apply({ op: 'create', resource: simGroup('web', { desired: 2, max: 10 }) });
    sim.converge();
    sim.clock.advance(MIN);
    const calm = last('web');
    expect(calm.errorRate).toBe(0);
    sim.clock.advance(2 * MIN);
    const overloaded = last('web');
    expect(overloaded.utilisation).toBe(1);
    expect(overloaded.errorRate).toBeCloseTo(0.6, 5);
    expect(overloaded.latencyMs.p99).toBe(10_000);
    expect(overloaded.latencyMs.p50).toBeGreaterThan(calm.latencyMs.p50 * 10);
    expect(overloaded.cpu.avg).toBe(2);
    await sim.apply({ op: 'update', resource: simGroup('web', { desired: 8, max: 10 }) });
    sim.converge();
    sim.clock.advance(MIN);
    const scaled = last('web');
    expect(scaled.instances).toBe(8);
    expect(scaled.errorRate).toBe(0);
    expect(scaled.latencyMs.p99).toBeLessThan(overloaded.latencyMs.p50);
  });

  it('counts requests sent to a hung instance as errors until it is marked unhealthy', async () => {
    const { sim, events, last } = await startSim({ groups: { web: { demand: 100 } } });
    await sim.apply({ op: 'create', resource: simGroup('web', { desired: 4 }) });
    sim.converge();
    sim.clock.advance(MIN);
    sim.inject({ kind: 'hang', at: '60500ms', instance: 'web-1' });
    sim.clock.advance(1_000);
    expect(last('web')).toMatchObject({ errorRate: 0.25, healthyInstances: 4 });
    expect(last('web').cpu.perInstance['web-1']).toBe(0);
    sim.clock.runUntil(() => events.some((e) => e.type === 'instance.unhealthy'));
    sim.clock.advance(1_000);
    expect(last('web')).toMatchObject({ errorRate: 0, healthyInstances: 3, rpsPerInstance: 33.33 });
  });

  it('fails every request while no instance is ready, counting booting instances', async () => {
    const { sim, last } = await startSim({ groups: { web: { demand: 10 } } });
    await sim.apply({ op: 'create', resource: simGroup('web', { desired: 1 }) });
    sim.converge();
    sim.clock.advance(1_000);
    expect(last('web')).toMatchObject({
      errorRate: 1,
      instances: 1,
      healthyInstances: 0,
      rps: 10,
      requests: 10,
      errors: 10,
    });
    expect(last('web').cpu.perInstance).toEqual({ 'web-1': 0.6 });
  });

  it('takes a new demand curve at the next sample', async () => {
    const { sim, last } = await startSim();
    await sim.apply({ op: 'create', resource: simGroup('web', { desired: 1 }) });
    sim.converge();
    sim.clock.advance(MIN);
    expect(last('web').rps).toBe(0);
    sim.configureGroup('web', { demand: { kind: 'constant', rps: 42 }, capacityRps: 84 });
    sim.clock.advance(1_000);
    expect(last('web')).toMatchObject({ rps: 42, capacityRps: 84, utilisation: 0.5 });
  });

  it('gives the same averages whether or not instances are listed one by one', async () => {
    const run = async (perInstanceLimit: number) => {
      const { sim, metrics } = await startSim({
        seed: 9,
        perInstanceLimit,
        groups: { web: { demand: { kind: 'sine', base: 1_500, amplitude: 1_000, period: '10m', noise: 0.1 } } },
        faults: [
          { kind: 'hang', probabilityPerHour: 0.5, duration: '1m' },
          { kind: 'crash', probabilityPerHour: 0.2 },
        ],
      });
      await sim.apply({ op: 'create', resource: simGroup('web', { desired: 30, max: 30 }) });
      sim.converge();
      sim.clock.advance(20 * MIN);
      return metrics('web');
    };
    const listed = await run(1_000);
    const omitted = await run(0);
    const running = omitted.filter((m) => m.instances > 0);
    expect(running.length).toBeGreaterThan(1_000);
    expect(running.every((m) => m.perInstanceOmitted === true && Object.keys(m.cpu.perInstance).length === 0)).toBe(
      true,
    );
    const strip = (m: SimMetrics) => ({
      ...m,
      cpu: m.cpu.avg,
      memoryMiB: m.memoryMiB.avg,
      perInstanceOmitted: undefined,
    });
    expect(omitted.map(strip)).toEqual(listed.map(strip));
    for (const m of listed.filter((x) => x.instances > 0)) {
      const values = Object.values(m.cpu.perInstance);
      expect(values).toHaveLength(m.instances);
      expect(Math.abs(m.cpu.avg - values.reduce((a, b) => a + b, 0) / values.length)).toBeLessThanOrEqual(0.0006);
    }
  });
});
