import { describe, expect, it } from 'vitest';
import { HomeostatError } from '../../core/errors.js';
import type { InstanceStatus, LoadBalancerStatus } from '../../core/infra/types.js';
import type { ProviderEvent } from '../../ports/provider.js';
import { resolveFault } from './faults.js';
import type { SimProviderOptions } from './options.js';
import { createSimProvider, type SimProvider } from './provider.js';
import { simBalancer, simGroup } from './resources.js';

const MIN = 60_000;

async function startSim(options: SimProviderOptions = {}) {
  const sim = createSimProvider(options);
  const events: ProviderEvent[] = [];
  await sim.start((e) => events.push(e));
  const of = (type: string) => events.filter((e) => e.type === type);
  const at = (e: ProviderEvent) => e.time - sim.simStart;
  return { sim, events, of, at };
}

async function instance(sim: SimProvider, name: string): Promise<InstanceStatus> {
  const found = (await sim.observe()).find((r) => r.kind === 'Instance' && r.name === name);
  return found?.status as InstanceStatus;
}

function problems(input: unknown): string[] {
  try {
    resolveFault(input, 'fault-1', ['a', 'b', 'c']);
  } catch (err) {
    if (err instanceof HomeostatError) return err.problems.map((p) => `${p.pointer}: ${p.message}`);
    throw err;
  }
  return [];
}

describe('sim faults', () => {
  it('crashes an instance at the injected time with its exit code, and it leaves the group', async () => {
    const { sim, of, at } = await startSim({
      faults: [{ kind: 'crash', at: '2m', instance: 'web-2', exitCode: null, signal: 'SIGKILL' }],
    });
    await sim.apply({ op: 'create', resource: simGroup('web', { desired: 3 }) });
    sim.converge();
    sim.clock.advance(2 * MIN - 1);
    expect(of('instance.crashed')).toEqual([]);
    sim.clock.advance(1);
    const [crash] = of('instance.crashed');
    expect(crash).toMatchObject({
      subject: 'instance/web-2',
      data: { group: 'web', zone: 'b', exitCode: null, signal: 'SIGKILL', reason: 'crash', fault: 'fault-1' },
    });
    expect(at(crash!)).toBe(2 * MIN);
    expect(crash!.cause).toBeUndefined();
    expect(await instance(sim, 'web-2')).toMatchObject({ phase: 'crashed', healthy: false, exitCode: null });
    expect(sim.counts().running).toBe(2);
    expect(sim.faultLog()).toEqual([
      { fault: 'fault-1', kind: 'crash', time: sim.simStart + 2 * MIN, targets: ['web-2'] },
    ]);
  });

  it('crashes `count` random instances of a group, the same ones for the same seed', async () => {
    const run = async (seed: number) => {
      const { sim, of } = await startSim({ seed });
      await sim.apply({ op: 'create', resource: simGroup('web', { desired: 20, max: 20 }) });
      sim.converge();
      await sim.apply({ op: 'create', resource: simGroup('db', { desired: 2 }) });
      sim.converge();
      sim.inject({ kind: 'crash', at: '1m', group: 'web', count: 3 });
      sim.clock.advance(2 * MIN);
      return of('instance.crashed').map((e) => e.subject);
    };
    const first = await run(11);
    expect(first).toHaveLength(3);
    expect(first.every((s) => s.startsWith('instance/web-'))).toBe(true);
    expect(await run(11)).toEqual(first);
  });

  it('marks a hung instance unhealthy after the health-check thresholds, and healthy again when it answers', async () => {
    const healthCheck = { intervalMs: 1_000, timeoutMs: 400, unhealthyThreshold: 3, healthyThreshold: 2 };
    const { sim, of, at } = await startSim();
    await sim.apply({ op: 'create', resource: simGroup('web', { desired: 2, healthCheck }) });
    sim.converge();
    await sim.apply({ op: 'create', resource: simBalancer('front', 'web') });
    sim.clock.advance(MIN);
    const anchor = (await instance(sim, 'web-1')).readyAt! - sim.simStart;
    const hangAt = 2 * MIN + 123;
    sim.inject({ kind: 'hang', at: hangAt, instance: 'web-1', duration: '30s' });
    sim.clock.advance(2 * MIN);
    // Checks run every second from the end of the boot; the first at or after the hang fails,
    // and the third failure is known when that check times out.
    const firstFailing = anchor + Math.ceil((hangAt - anchor) / 1_000) * 1_000;
    const [unhealthy] = of('instance.unhealthy');
    expect(at(unhealthy!)).toBe(firstFailing + 2 * 1_000 + 400);
    expect(unhealthy!.data).toMatchObject({ instance: 'web-1', failures: 3, reason: 'health-check-timeout' });
    const firstPassing = anchor + Math.ceil((hangAt + 30_000 - anchor) / 1_000) * 1_000;
    const [healthy] = of('instance.healthy');
    expect(at(healthy!)).toBe(firstPassing + 1_000);
    expect(of('instance.crashed')).toEqual([]);
  });

  it('stops routing to a hung instance exactly when it is marked unhealthy', async () => {
    const { sim, of } = await startSim();
    await sim.apply({ op: 'create', resource: simGroup('web', { desired: 2 }) });
    sim.converge();
    await sim.apply({ op: 'create', resource: simBalancer('front', 'web') });
    sim.clock.advance(MIN);
    sim.inject({ kind: 'hang', at: '90s', instance: 'web-2' });
    const lb = async () =>
      ((await sim.observe()).find((r) => r.name === 'front')?.status as LoadBalancerStatus).healthyTargets;
    sim.clock.runUntil(() => of('instance.unhealthy').length > 0);
    expect(await lb()).toBe(1);
    sim.clock.advance(10 * MIN);
    expect(await lb()).toBe(1);
    expect(await instance(sim, 'web-2')).toMatchObject({ phase: 'running', healthy: false });
  });

  it('never marks unhealthy an instance whose hang ends before the thresholds are reached', async () => {
    const { sim, of } = await startSim();
    await sim.apply({ op: 'create', resource: simGroup('web', { desired: 1 }) });
    sim.converge();
    sim.clock.advance(MIN);
    sim.inject({ kind: 'hang', at: '2m', instance: 'web-1', duration: '300ms' });
    sim.clock.advance(5 * MIN);
    expect(of('instance.unhealthy')).toEqual([]);
  });

  it('clears a hang on restart', async () => {
    const { sim, of } = await startSim();
    await sim.apply({ op: 'create', resource: simGroup('web', { desired: 1 }) });
    sim.converge();
    sim.inject({ kind: 'hang', at: '1m', instance: 'web-1' });
    sim.clock.advance(2 * MIN);
    expect(of('instance.unhealthy')).toHaveLength(1);
    await sim.apply({ op: 'restart-instance', name: 'web-1' });
    sim.clock.advance(MIN);
    expect(await instance(sim, 'web-1')).toMatchObject({ phase: 'running', healthy: true });
  });

  it('a zone outage crashes only the instances in that zone and keeps new ones out of it until it ends', async () => {
    const { sim, of } = await startSim({
      faults: [{ kind: 'zone-outage', zone: 'b', at: '5m', duration: '10m' }],
    });
    await sim.apply({ op: 'create', resource: simGroup('web', { desired: 6 }) });
    sim.converge();
    await sim.apply({ op: 'create', resource: simGroup('db', { desired: 3 }) });
    sim.converge();
    sim.clock.advance(5 * MIN);
    const crashed = of('instance.crashed');
    expect(crashed.map((e) => e.subject).sort()).toEqual(['instance/db-2', 'instance/web-2', 'instance/web-5']);
    expect(
      crashed.every((e) => e.data.zone === 'b' && e.data.reason === 'zone-outage' && e.data.signal === 'SIGKILL'),
    ).toBe(true);
    expect(sim.counts().running).toBe(6);
    await sim.apply({ op: 'start-instance', group: 'web' });
    await sim.apply({ op: 'start-instance', group: 'web' });
    const placed = of('instance.started')
      .slice(-2)
      .map((e) => e.data.zone);
    expect(placed).not.toContain('b');
    sim.clock.advance(10 * MIN);
    await sim.apply({ op: 'start-instance', group: 'web' });
    expect(of('instance.started').at(-1)!.data.zone).toBe('b');
    expect(sim.faultLog().map((r) => r.kind)).toEqual(['zone-outage', 'zone-restored']);
  });

  it('cannot start instances while every zone is out', async () => {
    const outage = (zone: string) => ({ kind: 'zone-outage', zone, at: '1m', duration: '1m' }) as const;
    const { sim, of } = await startSim({ faults: [outage('a'), outage('b'), outage('c')] });
    await sim.apply({ op: 'create', resource: simGroup('web', { desired: 3 }) });
    sim.converge();
    sim.clock.advance(MIN);
    expect(of('instance.crashed')).toHaveLength(3);
    expect(sim.converge()).toBe(0);
    const err = await sim.apply({ op: 'start-instance', group: 'web' }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'E_BACKEND',
      message: 'sim: every zone is out; group web cannot start instances',
    });
    sim.clock.advance(MIN);
    expect(sim.converge()).toBe(3);
  });

  it('an unreachable zone makes its instances unhealthy, and healthy again when it returns', async () => {
    const { sim, of } = await startSim({
      faults: [{ kind: 'zone-outage', zone: 'a', at: '5m', duration: '2m', mode: 'unreachable' }],
    });
    await sim.apply({ op: 'create', resource: simGroup('web', { desired: 3 }) });
    sim.converge();
    sim.clock.advance(6 * MIN);
    expect(of('instance.unhealthy').map((e) => e.subject)).toEqual(['instance/web-1']);
    expect(of('instance.crashed')).toEqual([]);
    sim.clock.advance(2 * MIN);
    expect(of('instance.healthy').map((e) => e.subject)).toEqual(['instance/web-1']);
  });

  it('boots `factor` times slower under a slow-boot fault', async () => {
    const { sim, of } = await startSim({ faults: [{ kind: 'slow-boot', group: 'web', factor: 4 }] });
    await sim.apply({ op: 'create', resource: simGroup('web', { desired: 2 }) });
    sim.converge();
    await sim.apply({ op: 'create', resource: simGroup('db', { desired: 2 }) });
    sim.converge();
    sim.clock.advance(10 * MIN);
    const bootOf = (group: string) =>
      of('instance.ready')
        .filter((e) => e.data.group === group)
        .map((e) => e.data.bootMs as number);
    for (const ms of bootOf('web')) expect(ms).toBeGreaterThanOrEqual(4 * 22_500);
    for (const ms of bootOf('db')) expect(ms).toBeLessThanOrEqual(27_500);
    expect(of('instance.started').filter((e) => e.data.slowBoot === 'fault-1')).toHaveLength(2);
  });

  it('crashes instances at random at the given probability per hour', async () => {
    const { sim, of } = await startSim({ seed: 5, faults: [{ kind: 'crash', probabilityPerHour: 0.5, group: 'web' }] });
    await sim.apply({ op: 'create', resource: simGroup('web', { desired: 1_000, max: 1_000 }) });
    sim.converge();
    await sim.apply({ op: 'create', resource: simGroup('db', { desired: 50, max: 50 }) });
    sim.converge();
    sim.clock.advance(60 * MIN);
    const crashed = of('instance.crashed');
    // Binomial(1000, 0.5): 5 standard deviations is about ±79.
    expect(crashed.length).toBeGreaterThan(420);
    expect(crashed.length).toBeLessThan(580);
    expect(crashed.every((e) => e.data.group === 'web')).toBe(true);
  });

  it('rejects bad faults naming the field and the fix', () => {
    expect(problems({ kind: 'crash' })).toEqual([
      ': give exactly one of `at` (a time from the simulation start) or `probabilityPerHour`',
    ]);
    expect(problems({ kind: 'crash', probabilityPerHour: 1 })).toEqual([
      '/probabilityPerHour: 1: must be above 0 and below 1 (use `at` for a certain failure)',
    ]);
    expect(problems({ kind: 'hang', at: '1m', instance: 'a', count: 2 })).toEqual([
      '/instance: give either instance, or group and/or count, not both',
    ]);
    expect(problems({ kind: 'zone-outage', zone: 'd', at: 0 })).toEqual(['/zone: "d": expected one of a, b, c']);
    expect(problems({ kind: 'slow-boot', factor: 0.5, color: 'red' })).toEqual([
      '/color: unknown field; allowed: kind, group, factor, probability, from, until',
      '/factor: 0.5: expected a number >= 1',
    ]);
  });
});
