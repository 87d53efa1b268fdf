import { describe, expect, it, vi } from 'vitest';
import { HomeostatError } from '../../core/errors.js';
import type { DesiredResource, InstanceStatus, LoadBalancerStatus, Resource } from '../../core/infra/types.js';
import type { ProviderEvent } from '../../ports/provider.js';
import { createSimProvider, type SimProvider } from './provider.js';
import type { SimProviderOptions } from './options.js';
import { simBalancer, simGroup, simSecurityRule } from './resources.js';

async function startSim(options: SimProviderOptions = {}) {
  const sim = createSimProvider(options);
  const events: ProviderEvent[] = [];
  await sim.start((e) => events.push(e));
  const t = () => sim.clock.now() - sim.simStart;
  const of = (type: string) => events.filter((e) => e.type === type);
  return { sim, events, t, of };
}

/** Creates a group and brings it to its desired count, as the engine's reconciler would. */
async function launch(sim: SimProvider, group: DesiredResource, cause?: string): Promise<void> {
  await sim.apply({ op: 'create', resource: group });
  sim.converge(cause);
}

async function find(sim: SimProvider, kind: string, name: string): Promise<Resource | undefined> {
  return (await sim.observe()).find((r) => r.kind === kind && r.name === name);
}

async function rejection(promise: Promise<unknown>): Promise<HomeostatError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof HomeostatError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('sim provider: groups and instances', () => {
  it('starts instances over zones a, b, c, each ready after its type boot time, with the cause', async () => {
    const { sim, of } = await startSim();
    await launch(sim, simGroup('web', { desired: 4 }), 'chg-1');
    const started = of('instance.started');
    expect(started.map((e) => [e.subject, e.data.zone, e.time - sim.simStart, e.cause])).toEqual([
      ['instance/web-1', 'a', 0, 'chg-1'],
      ['instance/web-2', 'b', 0, 'chg-1'],
      ['instance/web-3', 'c', 0, 'chg-1'],
      ['instance/web-4', 'a', 0, 'chg-1'],
    ]);
    sim.clock.advance(22_499);
    expect(of('instance.ready')).toEqual([]);
    sim.clock.advance(5_001);
    const ready = of('instance.ready');
    expect(ready).toHaveLength(4);
    for (const e of ready) {
      expect(e.cause).toBe('chg-1');
      expect(e.data.bootMs).toBe(e.time - sim.simStart);
      expect(e.data.bootMs).toBeGreaterThanOrEqual(22_500);
      expect(e.data.bootMs).toBeLessThanOrEqual(27_500);
    }
    const web = await find(sim, 'InstanceGroup', 'web');
    expect(web?.status).toEqual({ running: 4, healthy: 4, instances: ['web-1', 'web-2', 'web-3', 'web-4'] });
    expect(web?.pricePerHour).toBe(0.168);
  });

  it('records a group and reports changes of desired as group.scaled, leaving the count to the reconciler', async () => {
    const { sim, events, of } = await startSim();
    await sim.apply({ op: 'create', resource: simGroup('api', { desired: 1 }), cause: 'c1' });
    expect(events.map((e) => e.type)).toEqual(['resource.changed']);
    expect(events[0]).toMatchObject({
      subject: 'instancegroup/api',
      cause: 'c1',
      data: { kind: 'InstanceGroup', name: 'api', op: 'create', before: null, after: { desired: 1 }, changed: ['/'] },
    });
    await sim.apply({ op: 'update', resource: simGroup('api', { desired: 3 }), cause: 'c2' });
    expect(of('resource.changed')[1]!.data.changed).toEqual(['/desired']);
    expect(of('group.scaled')).toEqual([
      expect.objectContaining({ subject: 'instancegroup/api', data: { group: 'api', from: 1, to: 3 }, cause: 'c2' }),
    ]);
    expect(of('instance.started')).toEqual([]);
  });

  it('changes nothing when the same group is applied again', async () => {
    const { sim, events } = await startSim();
    await launch(sim, simGroup('web', { desired: 2 }));
    const before = events.length;
    await sim.apply({ op: 'create', resource: simGroup('web', { desired: 2 }) });
    await sim.apply({ op: 'update', resource: simGroup('web', { desired: 2 }) });
    expect(sim.converge()).toBe(0);
    expect(events.length).toBe(before);
  });

  it('converge starts what is missing and drains the extras, newest first, stopping them after the drain', async () => {
    const { sim, of, t } = await startSim({ drain: '5s' });
    await launch(sim, simGroup('web', { desired: 2 }));
    sim.clock.advance(60_000);
    await sim.apply({ op: 'update', resource: simGroup('web', { desired: 4 }) });
    expect(sim.converge('up')).toBe(2);
    expect(of('instance.started').map((e) => e.subject)).toEqual([
      'instance/web-1',
      'instance/web-2',
      'instance/web-3',
      'instance/web-4',
    ]);
    sim.clock.advance(60_000);
    await sim.apply({ op: 'update', resource: simGroup('web', { desired: 1 }) });
    expect(sim.converge('down')).toBe(3);
    const draining = (await sim.observe()).filter((r) => (r.status as InstanceStatus).phase === 'stopping');
    expect(draining.map((r) => r.name).sort()).toEqual(['web-2', 'web-3', 'web-4']);
    expect(of('instance.stopped')).toEqual([]);
    const drainStart = t();
    sim.clock.advance(5_000);
    const stopped = of('instance.stopped');
    expect(stopped.map((e) => [e.subject, e.time - sim.simStart - drainStart, e.cause])).toEqual([
      ['instance/web-4', 5_000, 'down'],
      ['instance/web-3', 5_000, 'down'],
      ['instance/web-2', 5_000, 'down'],
    ]);
    expect(stopped[0]!.data).toMatchObject({ reason: 'scale-in', drained: true, exitCode: 0, signal: 'SIGTERM' });
  });

  it('starts one more instance on start-instance without changing desired, and stops one on stop-instance', async () => {
    const { sim, of } = await startSim();
    await launch(sim, simGroup('web', { desired: 1 }));
    await sim.apply({ op: 'start-instance', group: 'web', cause: 'heal-1' });
    expect(of('instance.started').at(-1)).toMatchObject({ subject: 'instance/web-2', cause: 'heal-1' });
    const web = await find(sim, 'InstanceGroup', 'web');
    expect((web?.spec as { desired: number }).desired).toBe(1);
    await sim.apply({ op: 'stop-instance', name: 'web-1', drain: false, cause: 'stop-1' });
    expect(of('instance.stopped')).toEqual([expect.objectContaining({ subject: 'instance/web-1', cause: 'stop-1' })]);
    await sim.apply({ op: 'stop-instance', name: 'web-1', drain: false });
    await sim.apply({ op: 'stop-instance', name: 'nope', drain: true });
    expect(of('instance.stopped')).toHaveLength(1);
  });

  it('takes a draining instance out of the balancer at once', async () => {
    const { sim } = await startSim();
    await launch(sim, simGroup('web', { desired: 2 }));
    await sim.apply({ op: 'create', resource: simBalancer('front', 'web') });
    sim.clock.advance(60_000);
    const lb = async () => (await find(sim, 'LoadBalancer', 'front'))?.status as LoadBalancerStatus;
    expect(await lb()).toMatchObject({ targets: 2, healthyTargets: 2 });
    await sim.apply({ op: 'stop-instance', name: 'web-2', drain: true });
    expect(await lb()).toMatchObject({ targets: 1, healthyTargets: 1 });
  });

  it('restarts an instance in place: drained, stopped, started again, ready after a new boot', async () => {
    const { sim, of } = await startSim({ drain: '2s' });
    await launch(sim, simGroup('web', { desired: 1 }));
    sim.clock.advance(60_000);
    await sim.apply({ op: 'restart-instance', name: 'web-1', cause: 'r1' });
    expect(((await find(sim, 'Instance', 'web-1'))?.status as InstanceStatus).phase).toBe('stopping');
    sim.clock.advance(2_000);
    expect(of('instance.stopped').at(-1)).toMatchObject({ data: { reason: 'restart', drained: true }, cause: 'r1' });
    expect(of('instance.started').at(-1)).toMatchObject({ subject: 'instance/web-1', data: { restart: true } });
    sim.clock.advance(60_000);
    expect(of('instance.ready')).toHaveLength(2);
    expect(of('instance.ready')[1]!.cause).toBe('r1');
  });

  it('does not replace a crashed instance itself', async () => {
    const { sim, of } = await startSim({ faults: [{ kind: 'crash', at: '1m', instance: 'web-1' }] });
    await launch(sim, simGroup('web', { desired: 2 }));
    sim.clock.advance(10 * 60_000);
    expect(of('instance.crashed')).toHaveLength(1);
    expect(of('instance.started')).toHaveLength(2);
    const web = await find(sim, 'InstanceGroup', 'web');
    expect(web?.status).toMatchObject({ running: 1, instances: ['web-2'] });
    expect((await rejection(sim.apply({ op: 'restart-instance', name: 'web-1' }))).code).toBe('E_NOT_FOUND');
  });

  it('keeps a terminated instance visible for the retention time, then forgets it', async () => {
    const { sim } = await startSim({ retention: '30s' });
    await launch(sim, simGroup('web', { desired: 1 }));
    await sim.apply({ op: 'stop-instance', name: 'web-1', drain: false });
    expect(((await find(sim, 'Instance', 'web-1'))?.status as InstanceStatus).phase).toBe('stopped');
    expect((await find(sim, 'Instance', 'web-1'))?.pricePerHour).toBe(0);
    sim.clock.advance(30_000);
    expect(await find(sim, 'Instance', 'web-1')).toBeUndefined();
  });

  it('follows real time when given a speed, and stops following it on close', async () => {
    const sim = createSimProvider({ speed: 1_000 });
    const ready: ProviderEvent[] = [];
    await sim.start((e) => {
      if (e.type === 'instance.ready') ready.push(e);
    });
    await launch(sim, simGroup('web', { desired: 1 }));
    await vi.waitFor(() => expect(ready).toHaveLength(1), { timeout: 10_000, interval: 20 });
    await sim.close();
    const stoppedAt = sim.clock.now();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sim.clock.now()).toBe(stoppedAt);
  });
});

describe('sim provider: resources, out-of-band changes and errors', () => {
  it('reports an out-of-band set as a change without a cause', async () => {
    const { sim, of } = await startSim();
    await sim.apply({ op: 'create', resource: simGroup('web', { desired: 2 }), cause: 'c1' });
    await sim.set('InstanceGroup', 'web', { desired: 3, healthCheck: { timeoutMs: 250 } });
    const change = of('resource.changed').at(-1)!;
    expect(change.cause).toBeUndefined();
    expect(change.data).toMatchObject({ op: 'update', outOfBand: true, before: { desired: 2 }, after: { desired: 3 } });
    expect(change.data.changed).toEqual(['/desired', '/healthCheck/timeoutMs']);
    expect(of('group.scaled').at(-1)).toMatchObject({ data: { from: 2, to: 3 } });
    expect(of('group.scaled').at(-1)!.cause).toBeUndefined();
  });

  it('applies a merge patch: null removes a field, which then takes its default', async () => {
    const { sim } = await startSim();
    await sim.apply({ op: 'create', resource: simBalancer('front', 'web') });
    await sim.set('LoadBalancer', 'front', { algorithm: 'least-connections' });
    expect((await find(sim, 'LoadBalancer', 'front'))?.spec).toMatchObject({ algorithm: 'least-connections' });
    await sim.set('LoadBalancer', 'front', { algorithm: null });
    expect((await find(sim, 'LoadBalancer', 'front'))?.spec).toMatchObject({ algorithm: 'round-robin' });
  });

  it('keeps balancers and security rules, with status and prices', async () => {
    const { sim, of } = await startSim();
    await launch(sim, simGroup('web', { desired: 1 }));
    await sim.apply({ op: 'create', resource: simBalancer('front', 'web', '127.0.0.1:8080') });
    await sim.apply({ op: 'create', resource: simSecurityRule('office', 'front', ['10.0.0.0/8']), cause: 'c' });
    sim.clock.advance(60_000);
    const resources = await sim.observe();
    expect(resources.map((r) => `${r.kind}/${r.name}`)).toEqual([
      'InstanceGroup/web',
      'Instance/web-1',
      'LoadBalancer/front',
      'SecurityRule/office',
    ]);
    expect(resources[2]).toMatchObject({
      status: { address: '127.0.0.1:8080', targets: 1, healthyTargets: 1 },
      pricePerHour: 0.0225,
      provider: 'sim',
    });
    expect(resources[3]).toMatchObject({ spec: { loadBalancer: 'front', allow: ['10.0.0.0/8'] }, pricePerHour: 0 });
    expect(of('resource.changed').at(-1)).toMatchObject({ subject: 'securityrule/office', cause: 'c' });
  });

  it('deletes a group, draining its instances, and reports the removal; deleting again does nothing', async () => {
    const { sim, of } = await startSim({ drain: '1s' });
    await launch(sim, simGroup('web', { desired: 2 }));
    sim.clock.advance(60_000);
    await sim.apply({ op: 'delete', kind: 'InstanceGroup', name: 'web', cause: 'd1' });
    expect(of('resource.changed').at(-1)).toMatchObject({ data: { op: 'delete', after: null }, cause: 'd1' });
    expect(sim.counts().stopping).toBe(2);
    sim.clock.advance(1_000);
    expect(of('instance.stopped').map((e) => [e.subject, e.data.reason, e.cause])).toEqual([
      ['instance/web-1', 'group-deleted', 'd1'],
      ['instance/web-2', 'group-deleted', 'd1'],
    ]);
    expect(sim.counts()).toEqual({ starting: 0, running: 0, stopping: 0, healthy: 0 });
    const count = of('resource.changed').length;
    await sim.apply({ op: 'delete', kind: 'InstanceGroup', name: 'web' });
    expect(of('resource.changed')).toHaveLength(count);
    expect((await sim.observe()).filter((r) => r.kind === 'InstanceGroup')).toEqual([]);
  });

  it('never reuses an instance name, even for a group deleted and created again', async () => {
    const { sim, of } = await startSim();
    await launch(sim, simGroup('web', { desired: 2 }));
    await sim.apply({ op: 'delete', kind: 'InstanceGroup', name: 'web' });
    await launch(sim, simGroup('web', { desired: 1 }));
    expect(of('instance.started').map((e) => e.subject)).toEqual([
      'instance/web-1',
      'instance/web-2',
      'instance/web-3',
    ]);
  });

  it('rejects a bad spec with E_INVALID and pointers relative to the resource', async () => {
    const { sim } = await startSim();
    const bad = simGroup('web', { desired: 12, max: 10, instanceType: 'm5.large', healthCheck: { intervalMs: 10 } });
    const err = await rejection(sim.apply({ op: 'create', resource: bad }));
    expect(err.code).toBe('E_INVALID');
    expect(err.problems).toEqual([
      {
        pointer: '/spec/instanceType',
        message: '"m5.large" is not a sim instance type; use one of sim.small, sim.medium, sim.large, sim.xlarge',
      },
      { pointer: '/spec/desired', message: '12 is outside min..max (0..10)' },
      { pointer: '/spec/healthCheck/intervalMs', message: '10: expected a number >= 50' },
    ]);
  });

  it('rejects bad names and Instances created directly', async () => {
    const { sim } = await startSim();
    const named = {
      kind: 'Instance',
      name: 'Web_1',
      spec: { group: 'web' },
      tags: {},
      pricePerHour: 0,
      provider: 'sim',
    };
    const err = await rejection(sim.apply({ op: 'create', resource: named as DesiredResource }));
    expect(err.problems).toEqual([
      { pointer: '/kind', message: "instances are made with 'start-instance', not create or update" },
      {
        pointer: '/name',
        message:
          '"Web_1" is not a valid name; use 1 to 63 lower-case letters, digits or \'-\', starting and ending with a letter or digit',
      },
    ]);
  });

  it('rejects an invalid out-of-band change and leaves the resource as it was', async () => {
    const { sim } = await startSim();
    await sim.apply({ op: 'create', resource: simGroup('web', { desired: 2 }) });
    const err = await rejection(sim.set('InstanceGroup', 'web', { desired: -1 }));
    expect(err.code).toBe('E_INVALID');
    expect(err.problems).toEqual([{ pointer: '/spec/desired', message: '-1: expected a number >= 0' }]);
    expect(((await find(sim, 'InstanceGroup', 'web'))?.spec as { desired: number }).desired).toBe(2);
  });

  it('answers E_NOT_FOUND for unknown groups and instances, and E_CLOSED before start', async () => {
    const { sim } = await startSim();
    expect((await rejection(sim.apply({ op: 'start-instance', group: 'ghost' }))).code).toBe('E_NOT_FOUND');
    expect((await rejection(sim.apply({ op: 'restart-instance', name: 'ghost-1' }))).code).toBe('E_NOT_FOUND');
    expect((await rejection(sim.set('InstanceGroup', 'ghost', { desired: 1 }))).code).toBe('E_NOT_FOUND');
    const idle = createSimProvider();
    const err = await rejection(idle.apply({ op: 'create', resource: simGroup('web', { desired: 1 }) }));
    expect(err).toMatchObject({
      code: 'E_CLOSED',
      message: 'sim provider sim is not started; call start(events) first',
    });
  });

  it('refuses to start instances beyond maxInstances with a retryable E_BACKEND', async () => {
    const { sim } = await startSim({ maxInstances: 3 });
    await launch(sim, simGroup('web', { desired: 3 }));
    const err = await rejection(sim.apply({ op: 'start-instance', group: 'web' }));
    expect(err).toMatchObject({ code: 'E_BACKEND', retryable: true });
    expect(err.message).toMatch(/instance limit \(3\) is reached/);
  });

  it('rejects bad provider options naming each field', () => {
    expect(() => createSimProvider({ zones: [], metricsInterval: '5', faults: [{ kind: 'boom' } as never] })).toThrow(
      'sim provider options: /zones: expected a non-empty list of distinct zone names; /metricsInterval: must be at least 10ms; /faults/0/kind: "boom": expected one of crash, hang, slow-boot, zone-outage',
    );
  });

  it('stops everything on close with stopAll, and resumes a simulation closed without it', async () => {
    const { sim, of } = await startSim();
    await launch(sim, simGroup('web', { desired: 2 }));
    await sim.close();
    const events: ProviderEvent[] = [];
    await sim.start((e) => events.push(e));
    sim.clock.advance(60_000);
    expect(events.filter((e) => e.type === 'instance.ready')).toHaveLength(2);
    expect(of('instance.ready')).toHaveLength(0);
    await sim.close({ stopAll: true });
    expect(events.filter((e) => e.type === 'instance.stopped').map((e) => e.data.reason)).toEqual(['closed', 'closed']);
    expect(sim.counts()).toEqual({ starting: 0, running: 0, stopping: 0, healthy: 0 });
  });
});
