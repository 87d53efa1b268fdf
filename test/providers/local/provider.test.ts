import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Provider, ProviderEvent } from '../../../src/ports/provider.js';
import { isSameProcess } from '../../../src/providers/local/processes.js';
import {
  balancer,
  FAST_HEALTH,
  type Fixture,
  fixture,
  get,
  post,
  type Recorder,
  recorder,
  statusOf,
  webGroup,
} from './helpers.js';

let fx: Fixture;
beforeEach(() => {
  fx = fixture();
});
afterEach(async () => {
  await fx.cleanup();
});

/** Creates group `web` (and balancer `web-lb`), starts `count` instances and waits until all are ready. */
async function startWeb(p: Provider, rec: Recorder, count: number, health = FAST_HEALTH): Promise<ProviderEvent[]> {
  await p.apply({ op: 'create', resource: webGroup('web', count, { healthCheck: health }), cause: 'stack-1' });
  await p.apply({ op: 'create', resource: balancer('web-lb', 'web') });
  for (let i = 0; i < count; i++) await p.apply({ op: 'start-instance', group: 'web', cause: `change-${i + 1}` });
  const names = Array.from({ length: count }, (_, i) => `instance/web-${i + 1}`);
  for (const subject of names)
    await rec.waitFor((e) => e.type === 'instance.ready' && e.subject === subject, `${subject} ready`);
  return names.map((subject) => rec.of('instance.started', subject)[0]!);
}

async function lbAddress(p: Provider): Promise<string> {
  return (await statusOf(p, 'LoadBalancer', 'web-lb')).address as string;
}

/** Sends `n` requests through the balancer; returns the instance names that answered. */
async function spread(address: string, n: number): Promise<string[]> {
  const answered: string[] = [];
  for (let i = 0; i < n; i++) {
    const { status, body } = await get(address, '/work?ms=1');
    expect(status).toBe(200);
    answered.push(body.instance as string);
  }
  return answered;
}

describe('local provider: instance lifecycle', () => {
  it('starts a group of three web.mjs processes, reports started and ready with their cause, and routes to all', async () => {
    const rec = recorder();
    const p = await fx.provider(rec);
    const started = await startWeb(p, rec, 3);
    expect(started.map((e) => e.cause)).toEqual(['change-1', 'change-2', 'change-3']);
    for (const e of started) {
      expect(e.data).toMatchObject({ group: 'web', instanceType: 'local.small' });
      expect(isSameProcess(e.data.pid as number, null)).toBe(true);
      expect(e.data.address).toMatch(/^127\.0\.0\.1:\d+$/);
    }
    expect(rec.of('instance.ready', 'instance/web-2')[0]!.cause).toBe('change-2');
    expect(await statusOf(p, 'InstanceGroup', 'web')).toEqual({
      running: 3,
      healthy: 3,
      instances: ['web-1', 'web-2', 'web-3'],
    });
    const answered = await spread(await lbAddress(p), 9);
    expect(new Set(answered)).toEqual(new Set(['web-1', 'web-2', 'web-3']));
    const instance = (await p.observe()).find((r) => r.kind === 'Instance' && r.name === 'web-1')!;
    expect(instance).toMatchObject({
      spec: { group: 'web' },
      status: { phase: 'running', healthy: true, pid: started[0]!.data.pid },
      tags: { team: 'shop', 'homeostat.io/group': 'web' },
      provider: 'local',
    });
    expect(instance.pricePerHour).toBeGreaterThan(0);
  });

  it('reports a kill -9 as crashed with SIGKILL and takes the instance out of routing', async () => {
    const rec = recorder();
    const p = await fx.provider(rec);
    const started = await startWeb(p, rec, 3);
    const victim = started[1]!.data.pid as number;
    const killedAt = Date.now();
    process.kill(victim, 'SIGKILL');
    const crashed = await rec.waitFor((e) => e.type === 'instance.crashed', 'instance.crashed');
    // The issue asks for detection within 1 s; 3 s is a generous bound for a busy shared machine.
    expect(Date.now() - killedAt).toBeLessThan(3_000);
    expect(crashed).toMatchObject({
      subject: 'instance/web-2',
      data: { group: 'web', pid: victim, signal: 'SIGKILL', exitCode: null },
    });
    expect(crashed.cause).toBeUndefined();
    expect(await statusOf(p, 'LoadBalancer', 'web-lb')).toMatchObject({ targets: 2, healthyTargets: 2 });
    expect(await statusOf(p, 'Instance', 'web-2')).toMatchObject({
      phase: 'crashed',
      healthy: false,
      signal: 'SIGKILL',
    });
    expect(await statusOf(p, 'InstanceGroup', 'web')).toMatchObject({ running: 2, instances: ['web-1', 'web-3'] });
    // A decoy takes over the dead instance's port: a balancer still routing there would reach it.
    const decoy = await decoyServer(crashed.data.address as string);
    try {
      const answered = await spread(await lbAddress(p), 12);
      expect(answered).not.toContain('decoy');
      expect(answered).not.toContain('web-2');
    } finally {
      decoy.close();
    }
  });

  it('reports an exit code when an instance exits on its own', async () => {
    const rec = recorder();
    const p = await fx.provider(rec);
    const [first] = await startWeb(p, rec, 1);
    await post(first!.data.address as string, '/admin/exit?code=3');
    const crashed = await rec.waitFor((e) => e.type === 'instance.crashed', 'instance.crashed');
    expect(crashed.data).toMatchObject({ exitCode: 3, signal: null });
  });

  it('marks a hung instance unhealthy after its threshold of failed checks and stops routing to it', async () => {
    const rec = recorder();
    const p = await fx.provider(rec);
    const started = await startWeb(p, rec, 3);
    expect(await post(started[0]!.data.address as string, '/admin/hang')).toBe(200);
    const unhealthy = await rec.waitFor((e) => e.type === 'instance.unhealthy', 'instance.unhealthy');
    expect(unhealthy.subject).toBe('instance/web-1');
    expect(unhealthy.data).toMatchObject({ group: 'web', failures: 2 });
    expect(unhealthy.data.reason).toMatch(/no answer from \/healthz within 300 ms/);
    expect(await statusOf(p, 'LoadBalancer', 'web-lb')).toMatchObject({ targets: 3, healthyTargets: 2 });
    expect(await statusOf(p, 'Instance', 'web-1')).toMatchObject({ phase: 'running', healthy: false });
    // Every request after detection goes to the two healthy instances (a hung one would time out).
    const answered = await spread(await lbAddress(p), 12);
    expect(answered).not.toContain('web-1');
    expect(rec.of('instance.healthy')).toEqual([]);
  });

  it('stops an instance with drain: out of routing first, then SIGTERM, reported as stopped with its cause', async () => {
    const rec = recorder();
    const p = await fx.provider(rec);
    const started = await startWeb(p, rec, 2);
    await p.apply({ op: 'stop-instance', name: 'web-1', drain: true, cause: 'scale-in-7' });
    expect(await statusOf(p, 'LoadBalancer', 'web-lb')).toMatchObject({ targets: 1, healthyTargets: 1 });
    const stopped = await rec.waitFor((e) => e.type === 'instance.stopped', 'instance.stopped');
    // web.mjs exits 0 on SIGTERM after finishing what is in flight.
    expect(stopped).toMatchObject({
      subject: 'instance/web-1',
      cause: 'scale-in-7',
      data: { exitCode: 0, signal: null },
    });
    expect(isSameProcess(started[0]!.data.pid as number, null)).toBe(false);
    expect(rec.of('instance.crashed')).toEqual([]);
    expect(await spread(await lbAddress(p), 4)).toEqual(['web-2', 'web-2', 'web-2', 'web-2']);
  });

  it('restarts an instance under the same name with a new process', async () => {
    const rec = recorder();
    const p = await fx.provider(rec);
    const [first] = await startWeb(p, rec, 1);
    await p.apply({ op: 'restart-instance', name: 'web-1', cause: 'restart-1' });
    await rec.waitFor((e) => e.type === 'instance.stopped', 'instance.stopped');
    const again = await rec.waitFor(
      (e) => e.type === 'instance.started' && e.data.pid !== first!.data.pid,
      'second start',
    );
    expect(again).toMatchObject({ subject: 'instance/web-1', cause: 'restart-1' });
    await rec.waitFor((e) => e.type === 'instance.ready' && e.cause === 'restart-1', 'ready after restart');
    expect(await spread(await lbAddress(p), 2)).toEqual(['web-1', 'web-1']);
  });

  it('fails to start a program that does not exist with E_BACKEND and reports the instance crashed', async () => {
    const rec = recorder();
    const p = await fx.provider(rec);
    const group = webGroup('ghost', 1);
    const spec = group.spec as any;
    await p.apply({
      op: 'create',
      resource: { ...group, spec: { ...spec, template: { ...spec.template, command: '/no/such/program' } } },
    });
    const err = await p.apply({ op: 'start-instance', group: 'ghost' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_BACKEND', retryable: false });
    expect((err as Error).message).toMatch(/\/no\/such\/program: ENOENT; check spec\.template\.command/);
    expect(rec.of('instance.crashed', 'instance/ghost-1')[0]!.data.reason).toMatch(/ENOENT/);
  });

  it('stops every instance on close({ stopAll: true }) and leaves them running on a plain close', async () => {
    const rec = recorder();
    const p = await fx.provider(rec);
    const started = await startWeb(p, rec, 2);
    const pids = started.map((e) => e.data.pid as number);
    await p.close({ stopAll: true });
    expect(pids.map((pid) => isSameProcess(pid, null))).toEqual([false, false]);
    expect(
      rec
        .of('instance.stopped')
        .map((e) => e.subject)
        .sort(),
    ).toEqual(['instance/web-1', 'instance/web-2']);
  });
});

describe('local provider: re-adoption after a restart', () => {
  it('re-adopts running instances on the same data dir (same pids, no new processes) and still detects a crash', async () => {
    const rec1 = recorder();
    const p1 = await fx.provider(rec1);
    // Checks every second: the crash below must be found by the liveness poll, not by failing checks.
    const started = await startWeb(p1, rec1, 2, { ...FAST_HEALTH, intervalMs: 1_000 });
    const port = (await lbAddress(p1)).split(':')[1];
    await p1.close();
    const pids = started.map((e) => e.data.pid as number);
    expect(pids.map((pid) => isSameProcess(pid, null))).toEqual([true, true]);
    expect(existsSync(`${fx.dataDir}/instances.json`)).toBe(true);

    const rec2 = recorder();
    const p2 = await fx.provider(rec2);
    expect(rec2.of('instance.adopted').map((e) => e.data.pid)).toEqual(pids);
    expect(rec2.of('instance.started')).toEqual([]);
    const observed = (await p2.observe()).filter((r) => r.kind === 'Instance').map((r) => (r.status as any).pid);
    expect(observed).toEqual(pids);
    // Adopted instances were ready before: their first passing check reports healthy, not ready again.
    await rec2.waitFor((e) => e.type === 'instance.healthy' && e.subject === 'instance/web-2', 'web-2 healthy');
    await rec2.waitFor((e) => e.type === 'instance.healthy' && e.subject === 'instance/web-1', 'web-1 healthy');
    expect(rec2.of('instance.ready')).toEqual([]);
    const address = await lbAddress(p2);
    expect(address.split(':')[1]).toBe(port);
    expect(new Set(await spread(address, 4))).toEqual(new Set(['web-1', 'web-2']));

    const killedAt = Date.now();
    process.kill(pids[0]!, 'SIGKILL');
    const crashed = await rec2.waitFor((e) => e.type === 'instance.crashed', 'crash of an adopted instance');
    // Found by the 250 ms liveness poll; the 1 s, with a 3 s bound for a busy shared machine.
    expect(Date.now() - killedAt).toBeLessThan(3_000);
    expect(crashed).toMatchObject({ subject: 'instance/web-1', data: { pid: pids[0], exitCode: null, signal: null } });
    expect(crashed.data.reason).toMatch(/adopted process/);
    const decoy = await decoyServer(crashed.data.address as string);
    try {
      expect(await spread(address, 3)).toEqual(['web-2', 'web-2', 'web-2']);
    } finally {
      decoy.close();
    }

    // A new instance gets a fresh name, not one of the adopted ones.
    await p2.apply({ op: 'start-instance', group: 'web' });
    await rec2.waitFor((e) => e.type === 'instance.ready' && e.subject === 'instance/web-3', 'web-3 ready');
  });

  it('reports an instance that ended while the provider was down as crashed at start', async () => {
    const rec1 = recorder();
    const p1 = await fx.provider(rec1);
    const started = await startWeb(p1, rec1, 2);
    await p1.close();
    const gone = started[1]!.data.pid as number;
    process.kill(-gone, 'SIGKILL');
    await waitUntil(() => !isSameProcess(gone, null), `pid ${gone} gone`);
    const rec2 = recorder();
    await fx.provider(rec2);
    expect(rec2.of('instance.adopted').map((e) => e.subject)).toEqual(['instance/web-1']);
    expect(rec2.of('instance.crashed')).toMatchObject([{ subject: 'instance/web-2', data: { pid: gone } }]);
  });
});

/** An HTTP server on `address` that answers like web.mjs, as instance 'decoy'. */
function decoyServer(address: string): Promise<Server> {
  const port = Number(address.split(':')[1]);
  const server = createServer((_req, res) => res.end(JSON.stringify({ instance: 'decoy' })));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

async function waitUntil(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
