/**
 * A stack of real processes behind the load balancer, through the real server: apply, load,
 * kill -9 one instance, hang another; events with causation, routing, the reconciler, drift.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../api/harness.js';
import { callApi, until } from './helpers.js';

const WEB = fileURLToPath(new URL('../../examples/services/web.mjs', import.meta.url));

interface Wire {
  offset: number;
  event: { id: string; type: string; subject?: string; causationid?: string; data: Record<string, unknown> };
}

let server: TestServer;

const stack = (algorithm = 'round-robin', desired = 3) => ({
  apiVersion: 'homeostat/v1',
  kind: 'Stack',
  metadata: { name: 'shop' },
  spec: {
    provider: 'local',
    drift: 'alert',
    resources: [
      {
        kind: 'InstanceGroup',
        name: 'web',
        spec: {
          template: { command: process.execPath, args: [WEB], env: { WORK_MS: '1' }, port: 0 },
          desired,
          min: 1,
          max: 6,
          healthCheck: {
            path: '/healthz',
            interval: '200ms',
            timeout: '150ms',
            unhealthyThreshold: 2,
            healthyThreshold: 1,
          },
        },
      },
      { kind: 'LoadBalancer', name: 'web-lb', spec: { listen: '127.0.0.1:0', targetGroup: 'web', algorithm } },
      { kind: 'SecurityRule', name: 'web-lb-local', spec: { loadBalancer: 'web-lb', allow: ['127.0.0.0/8'] } },
    ],
  },
});

const api = <T>(method: string, path: string, body?: unknown) => callApi<T>(server.url, method, path, body);

async function events(type: string): Promise<Wire[]> {
  return (await api<{ events: Wire[] }>('GET', `/v1/events?type=${type}&limit=1000`)).body.events;
}

async function instances(): Promise<
  { name: string; status: { pid: number; address: string; phase: string; healthy: boolean } }[]
> {
  const { body } = await api<{
    resources: { name: string; status: { pid: number; address: string; phase: string; healthy: boolean } }[];
  }>('GET', '/v1/resources?kind=Instance');
  return body.resources;
}

async function converged(): Promise<boolean> {
  return (await api<{ converged: boolean }>('GET', '/v1/stacks/shop/status')).body.converged;
}

async function lbAddress(): Promise<string> {
  const { body } = await api<{ resources: { status: { address?: string } }[] }>(
    'GET',
    '/v1/resources?kind=LoadBalancer',
  );
  return body.resources[0]!.status.address!;
}

/** Sends `n` requests through the balancer; returns which instance answered each (or the status). */
async function load(n: number): Promise<string[]> {
  const address = await lbAddress();
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(`http://${address}/`);
    const text = await res.text();
    out.push(res.ok ? (JSON.parse(text) as { instance: string }).instance : `HTTP ${res.status}`);
  }
  return out;
}

beforeAll(async () => {
  server = await startTestServer({}, undefined, { stopInfraOnClose: true });
});

afterAll(async () => {
  await server.stop();
});

describe('a stack of real processes', () => {
  it('applies the stack, converges, and applying it again changes nothing', async () => {
    const first = await api<{ result: string; lines: string[] }>('PUT', '/v1/stacks/shop', stack());
    expect(first.status).toBe(201);
    expect(first.body.lines.join('\n')).toMatch(/\+ instancegroup\/web/);
    await until(converged, 'the stack to converge');
    // The provider's view converges a moment before its last `ready` event is on the log.
    const ready = await until(async () => {
      const seen = await events('infra.instance.ready');
      return seen.length >= 3 && seen;
    }, 'three ready events on the log');
    expect(ready.length).toBeGreaterThanOrEqual(3);
    const again = await api<{ result: string; lines: string[] }>('PUT', '/v1/stacks/shop', stack());
    expect(again.body.result).toBe('unchanged');
    const plan = await api<{ changes: unknown[] }>('POST', '/v1/stacks/plan', stack());
    expect(plan.body.changes).toEqual([]);
    const answered = new Set(await load(30));
    expect(answered.size).toBe(3);
    // Metrics: one event per group per interval (1 s), not one per request.
    const metrics = await until(async () => {
      const all = await events('infra.metrics');
      return all.find((e) => e.event.subject === 'instancegroup/web' && (e.event.data.rps as number) > 0);
    }, 'a metrics event with traffic');
    expect(metrics.event.data).toMatchObject({ group: 'web', instances: 3 });
    expect(metrics.event.data).toHaveProperty('latencyMs.p99');
    expect(metrics.event.data).toHaveProperty('cpu.avg');
  });

  it('detects a kill -9, stops routing to it, and the reconciler replaces it with causation', async () => {
    const [victim] = await instances();
    process.kill(victim!.status.pid, 'SIGKILL');
    const crashed = await until(
      async () => (await events('infra.instance.crashed')).find((e) => e.event.subject === `instance/${victim!.name}`),
      'crash event',
    );
    expect(crashed.event.data).toMatchObject({ signal: 'SIGKILL' });
    const after = await load(30);
    expect(after).not.toContain(victim!.name);
    expect(after.filter((a) => a.startsWith('HTTP'))).toEqual([]);
    const decision = await until(
      async () => (await events('infra.reconcile.decided')).find((e) => e.event.causationid === crashed.event.id),
      'a reconcile decision caused by the crash',
    );
    const started = await until(
      async () => (await events('infra.instance.started')).find((e) => e.event.causationid === decision.event.id),
      'a replacement started by that decision',
    );
    expect(started.event.subject).not.toBe(`instance/${victim!.name}`);
    await until(converged, 'the count restored');
  });

  it('marks a hung instance unhealthy, stops routing to it, and replaces it', async () => {
    const live = (await instances()).filter((i) => i.status.phase === 'running' && i.status.healthy);
    const victim = live[0]!;
    void fetch(`http://${victim.status.address}/admin/hang`, { method: 'POST' }).catch(() => undefined);
    const unhealthy = await until(
      async () => (await events('infra.instance.unhealthy')).find((e) => e.event.subject === `instance/${victim.name}`),
      'unhealthy event',
    );
    expect(unhealthy.event.type).toBe('infra.instance.unhealthy');
    const after = await load(20);
    expect(after).not.toContain(victim.name);
    await until(
      async () => (await events('infra.reconcile.decided')).find((e) => e.event.causationid === unhealthy.event.id),
      'a decision caused by the unhealthy check',
    );
    await until(converged, 'the count restored');
  });

  it('reports an out-of-band change as a change with before and after, and as drift', async () => {
    const res = await api('PATCH', '/v1/resources/loadbalancer/web-lb', { algorithm: 'least-connections' });
    expect(res.status).toBe(202);
    const changed = await until(
      async () =>
        (await events('infra.resource.changed')).find(
          (e) => e.event.subject === 'loadbalancer/web-lb' && e.event.causationid === undefined,
        ),
      'change event',
    );
    expect(JSON.stringify(changed.event.data)).toMatch(/least-connections/);
    const drifted = await until(async () => (await events('infra.resource.drifted'))[0], 'drift event');
    expect(drifted.event).toMatchObject({ subject: 'loadbalancer/web-lb', causationid: changed.event.id });
    const plan = await api<{ lines: string[] }>('POST', '/v1/stacks/plan', stack());
    expect(plan.body.lines.join('\n')).toMatch(/loadbalancer\/web-lb/);
  });
});
