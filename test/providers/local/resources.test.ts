import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DesiredResource } from '../../../src/core/infra/types.js';
import type { Provider, ProviderEvent } from '../../../src/ports/provider.js';
import { balancer, type Fixture, fixture, get, type Recorder, recorder, statusOf, webGroup } from './helpers.js';

let fx: Fixture;
beforeEach(() => {
  fx = fixture();
});
afterEach(async () => {
  await fx.cleanup();
});

function securityRule(name: string, lb: string, allow: string[]): DesiredResource {
  return {
    kind: 'SecurityRule',
    name,
    provider: 'local',
    tags: {},
    pricePerHour: 0,
    spec: { loadBalancer: lb, allow },
  };
}

async function oneReady(p: Provider, rec: Recorder): Promise<string> {
  await p.apply({ op: 'create', resource: webGroup('web', 1) });
  await p.apply({ op: 'create', resource: balancer('web-lb', 'web') });
  await p.apply({ op: 'start-instance', group: 'web' });
  await rec.waitFor((e) => e.type === 'instance.ready', 'instance.ready');
  return (await statusOf(p, 'LoadBalancer', 'web-lb')).address as string;
}

describe('local provider: resources and out-of-band changes', () => {
  it('reports an out-of-band set as resource.changed with before, after and the changed paths, without a cause', async () => {
    const rec = recorder();
    const p = await fx.provider(rec);
    await p.apply({ op: 'create', resource: webGroup('web', 2), cause: 'stack-apply-1' });
    expect(rec.of('resource.changed')).toMatchObject([
      {
        subject: 'instancegroup/web',
        cause: 'stack-apply-1',
        data: { kind: 'InstanceGroup', before: null, after: { desired: 2 } },
      },
    ]);
    await p.set('InstanceGroup', 'web', { desired: 4, healthCheck: { intervalMs: 200 } });
    const changed = rec.of('resource.changed')[1]!;
    expect(changed.cause).toBeUndefined();
    expect(changed.data).toMatchObject({
      kind: 'InstanceGroup',
      name: 'web',
      before: { desired: 2, healthCheck: { intervalMs: 100 } },
      after: { desired: 4, healthCheck: { intervalMs: 200, path: '/healthz' } },
      changed: ['/desired', '/healthCheck/intervalMs'],
    });
    expect(rec.of('group.scaled')).toMatchObject([{ subject: 'instancegroup/web', data: { from: 2, to: 4 } }]);
    expect(rec.of('group.scaled')[0]!.cause).toBeUndefined();
    const group = (await p.observe()).find((r) => r.kind === 'InstanceGroup')!;
    expect(group.spec).toMatchObject({ desired: 4 });
  });

  it('does nothing when the same resource is created again, and nothing when a missing one is deleted', async () => {
    const rec = recorder();
    const p = await fx.provider(rec);
    await p.apply({ op: 'create', resource: webGroup('web', 2) });
    await p.apply({ op: 'create', resource: webGroup('web', 2) });
    await p.apply({ op: 'delete', kind: 'LoadBalancer', name: 'nothing-here' });
    await p.apply({ op: 'stop-instance', name: 'web-99', drain: true });
    expect(rec.events.map((e) => e.type)).toEqual(['resource.changed']);
  });

  it('rejects a bad spec with E_INVALID naming each field relative to the resource', async () => {
    const p = await fx.provider(recorder());
    const bad = webGroup('Web_1', 12, { instanceType: 'local.huge', healthCheck: { path: 'healthz', intervalMs: 10 } });
    const err = await p.apply({ op: 'create', resource: bad }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_INVALID' });
    const pointers = (err as { problems: { pointer: string }[] }).problems.map((x) => x.pointer);
    expect(pointers).toEqual([
      '/name',
      '/spec/desired',
      '/spec/instanceType',
      '/spec/healthCheck/path',
      '/spec/healthCheck/intervalMs',
      '/spec/healthCheck/timeoutMs',
      '/spec/healthCheck/unhealthyThreshold',
      '/spec/healthCheck/healthyThreshold',
    ]);
    expect((err as Error).message).toMatch(
      /local\.huge" is not a local instance type; use one of: local\.nano, local\.small/,
    );
    expect((err as Error).message).toMatch(/desired 12 is outside min 0\.\.max 10/);
    expect(await p.observe()).toEqual([]);
  });

  it('rejects an out-of-band set that breaks the spec and keeps the old spec', async () => {
    const rec = recorder();
    const p = await fx.provider(rec);
    await p.apply({ op: 'create', resource: webGroup('web', 2) });
    const err = await p.set('InstanceGroup', 'web', { desired: 'three' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_INVALID', problems: [{ pointer: '/spec/desired' }] });
    const missing = await p.set('LoadBalancer', 'nope', { algorithm: 'round-robin' }).catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 'E_NOT_FOUND' });
    expect(rec.of('resource.changed')).toHaveLength(1);
    expect((await p.observe())[0]!.spec).toMatchObject({ desired: 2 });
  });

  it('refuses start-instance for a group that does not exist', async () => {
    const p = await fx.provider(recorder());
    await expect(p.apply({ op: 'start-instance', group: 'nope' })).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
  });

  it('keeps the resources it was given across a restart on the same data dir', async () => {
    const p1 = await fx.provider(recorder());
    await p1.apply({ op: 'create', resource: webGroup('web', 2) });
    await p1.apply({ op: 'create', resource: balancer('web-lb', 'web') });
    await p1.close();
    const p2 = await fx.provider(recorder());
    const kinds = (await p2.observe()).map((r) => `${r.kind}/${r.name}`);
    expect(kinds).toEqual(['InstanceGroup/web', 'LoadBalancer/web-lb']);
  });

  it('stops a deleted group’s instances and reports the deletion with the resource as before', async () => {
    const rec = recorder();
    const p = await fx.provider(rec);
    await oneReady(p, rec);
    await p.apply({ op: 'delete', kind: 'InstanceGroup', name: 'web', cause: 'stack-delete' });
    const stopped = await rec.waitFor((e) => e.type === 'instance.stopped', 'instance.stopped');
    expect(stopped.cause).toBe('stack-delete');
    const deleted = rec.of('resource.changed', 'instancegroup/web').at(-1)!;
    expect(deleted).toMatchObject({ cause: 'stack-delete', data: { before: { desired: 1 }, after: null } });
    expect((await p.observe()).filter((r) => r.kind === 'InstanceGroup')).toEqual([]);
  });
});

describe('local provider: security rules on a load balancer', () => {
  it('admits only the allowed addresses while a rule guards the balancer, everyone again once it is deleted', async () => {
    const rec = recorder();
    const p = await fx.provider(rec);
    const address = await oneReady(p, rec);
    expect((await get(address, '/work')).status).toBe(200);
    await p.apply({ op: 'create', resource: securityRule('office-only', 'web-lb', ['10.0.0.0/8']) });
    expect((await get(address, '/work')).status).toBe(403);
    await p.set('SecurityRule', 'office-only', { allow: ['10.0.0.0/8', '127.0.0.0/8'] });
    expect((await get(address, '/work')).status).toBe(200);
    await p.apply({ op: 'update', resource: securityRule('office-only', 'web-lb', []) });
    expect((await get(address, '/work')).status).toBe(403);
    await p.apply({ op: 'delete', kind: 'SecurityRule', name: 'office-only' });
    expect((await get(address, '/work')).status).toBe(200);
  });
});

describe('local provider: metrics', () => {
  it('emits one metrics event per group per interval with traffic, CPU and memory per instance', async () => {
    const rec = recorder();
    const p = await fx.provider(rec, { metricsIntervalMs: 300 });
    await p.apply({ op: 'create', resource: webGroup('batch', 0) });
    const address = await oneReady(p, rec);
    const before = rec.events.length;
    for (let i = 0; i < 20; i++) expect((await get(address, '/work?ms=5')).status).toBe(200);
    const after = rec.events.length;
    const isWeb = (e: ProviderEvent): boolean => e.type === 'metrics' && e.subject === 'instancegroup/web';
    const m = await rec.waitFor((e) => isWeb(e) && rec.events.indexOf(e) >= after, 'metrics after the traffic');
    // Windows do not overlap: the windows since the traffic began count each request once.
    const windows = rec.events.slice(before, rec.events.indexOf(m) + 1).filter(isWeb);
    expect(windows.reduce((n, e) => n + (e.data.requests as number), 0)).toBe(20);
    expect(m.subject).toBe('instancegroup/web');
    expect(m.data).toMatchObject({ group: 'web', instances: 1, errorRate: 0, inFlight: 0, intervalMs: 300 });
    const busy = windows.find((e) => (e.data.requests as number) > 0)!;
    expect(busy.data.rps).toBeGreaterThan(0);
    expect((busy.data.latencyMs as { p99: number }).p99).toBeGreaterThan(0);
    const cpu = m.data.cpu as { avg: number; perInstance: Record<string, number> };
    const memory = m.data.memoryMiB as { avg: number; perInstance: Record<string, number> };
    expect(Object.keys(cpu.perInstance)).toEqual(['web-1']);
    expect(memory.perInstance['web-1']).toBeGreaterThan(1);
    expect(memory.avg).toBe(memory.perInstance['web-1']);
    // 20 requests burnt 100 ms of CPU in the instance: some window saw it.
    expect(windows.some((e) => (e.data.cpu as typeof cpu).perInstance['web-1']! > 0)).toBe(true);
    const ticks = rec.of('metrics').map((e) => e.subject);
    expect(ticks.filter((_, i) => i % 2 === 0).every((s) => s === ticks[0])).toBe(true);
    expect(new Set(ticks)).toEqual(new Set(['instancegroup/web', 'instancegroup/batch']));
    expect(rec.of('metrics', 'instancegroup/batch')[0]!.data).toMatchObject({ instances: 0, requests: 0, rps: 0 });
  });
});
