/**
 * Scenario 2 as a test: a stack of real processes under a HealingPolicy, through the real server.
 * kill -9 one instance, then hang one: the policy's replace action is caused by the detection
 * event, the replacement's events by the action, an incident opens and resolves, and requests
 * through the balancer succeed afterwards.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../api/harness.js';
import { callApi, until } from '../infra/helpers.js';

const WEB = fileURLToPath(new URL('../../examples/services/web.mjs', import.meta.url));

interface Wire {
  offset: number;
  event: { id: string; type: string; subject?: string; causationid?: string; data: Record<string, any> };
}
interface InstanceView {
  name: string;
  status: { pid: number; address: string; phase: string; healthy: boolean };
}

let server: TestServer;
const pids = new Set<number>();
const api = <T>(method: string, path: string, body?: unknown) => callApi<T>(server.url, method, path, body);

const stack = {
  apiVersion: 'homeostat/v1',
  kind: 'Stack',
  metadata: { name: 'heal' },
  spec: {
    provider: 'local',
    resources: [
      {
        kind: 'InstanceGroup',
        name: 'web',
        spec: {
          template: { command: process.execPath, args: [WEB], env: { WORK_MS: '1' }, port: 0 },
          desired: 3,
          healthCheck: { path: '/healthz', interval: '200ms', timeout: '150ms', unhealthyThreshold: 2 },
        },
      },
      { kind: 'LoadBalancer', name: 'web-lb', spec: { listen: '127.0.0.1:0', targetGroup: 'web' } },
      { kind: 'SecurityRule', name: 'web-lb-local', spec: { loadBalancer: 'web-lb', allow: ['127.0.0.0/8'] } },
    ],
  },
};

const policy = {
  apiVersion: 'homeostat/v1',
  kind: 'HealingPolicy',
  metadata: { name: 'web' },
  spec: {
    target: 'group/web',
    crashLoop: { crashes: 5, within: '1m' },
    safety: { blastRadius: { maxResources: 20, maxPercent: 100, per: '10m' } },
  },
};

async function events(): Promise<Wire['event'][]> {
  const { body } = await api<{ events: Wire[] }>('GET', '/v1/events?limit=1000');
  return body.events.map((w) => w.event);
}

async function find(what: string, test: (e: Wire['event']) => boolean): Promise<Wire['event']> {
  return until(async () => (await events()).find(test), what);
}

async function healthy(): Promise<InstanceView[]> {
  return until(async () => {
    const { body } = await api<{ resources: InstanceView[] }>('GET', '/v1/resources?kind=Instance');
    for (const i of body.resources) if (i.status.pid) pids.add(i.status.pid);
    const live = body.resources.filter((i) => i.status.phase === 'running' && i.status.healthy);
    return live.length === 3 && live;
  }, 'three healthy instances');
}

/** Sends `n` requests through the balancer; the instance that answered each, or its status. */
async function load(n: number): Promise<string[]> {
  const { body } = await api<{ resources: { status: { address: string } }[] }>(
    'GET',
    '/v1/resources?kind=LoadBalancer',
  );
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(`http://${body.resources[0]!.status.address}/`);
    const text = await res.text();
    out.push(res.ok ? (JSON.parse(text) as { instance: string }).instance : `HTTP ${res.status}`);
  }
  return out;
}

/** The chain after a detection event: replace action → replacement started → ready; incident opened → resolved. */
async function expectHealed(detection: Wire['event'], victim: string) {
  const action = await find(
    'the replace action caused by the detection',
    (e) => e.type.startsWith('homeostat.action.') && e.causationid === detection.id && e.data.action === 'replace',
  );
  expect(action.type).toBe('homeostat.action.executed');
  expect(action.data).toMatchObject({ policy: 'HealingPolicy/web', resource: `instance/${victim}` });
  const started = await find(
    'the replacement started',
    (e) => e.type === 'infra.instance.started' && e.causationid === action.id,
  );
  expect(started.subject).not.toBe(`instance/${victim}`);
  const ready = await find(
    'the replacement ready',
    (e) => e.type === 'infra.instance.ready' && e.subject === started.subject,
  );
  expect(ready.causationid).toBe(action.id);
  const opened = await find(
    'the incident opened',
    (e) => e.type === 'homeostat.incident.opened' && e.causationid === detection.id,
  );
  await find('the incident resolved', (e) => e.type === 'homeostat.incident.resolved' && e.subject === opened.subject);
  const { body: incident } = await api<Record<string, any>>(
    'GET',
    `/v1/${opened.subject!.replace('incident/', 'incidents/')}`,
  );
  expect(incident).toMatchObject({ status: 'resolved', resolvedBy: 'HealingPolicy/web', group: 'web' });
  expect(incident.details).toMatchObject({ failures: 1, replacements: 1, verified: 1 });
  expect(incident.details.toActionMs).toEqual(expect.any(Number));
  expect(incident.details.toResolvedMs).toEqual(expect.any(Number));
  // The reconciler left the failure to the policy: no decision of its own caused by the detection.
  expect(
    (await events()).filter((e) => e.type === 'infra.reconcile.decided' && e.causationid === detection.id),
  ).toEqual([]);
  await healthy();
  const answers = await load(30);
  expect(answers.filter((a) => a.startsWith('HTTP'))).toEqual([]);
  expect(answers).not.toContain(victim);
}

beforeAll(async () => {
  server = await startTestServer({}, undefined, { stopInfraOnClose: true });
  expect((await api('PUT', '/v1/policies/HealingPolicy/web', policy)).status).toBe(201);
  expect((await api('PUT', '/v1/stacks/heal', stack)).status).toBe(201);
  await healthy();
});

afterAll(async () => {
  await server?.stop();
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL'); // Only if the server failed to stop it.
    } catch {
      // Gone, as expected.
    }
  }
});

describe('HealingPolicy on a stack of real processes', () => {
  it('replaces a kill -9ed instance with causation to the crash, and opens and resolves an incident', async () => {
    const [victim] = await healthy();
    process.kill(victim!.status.pid, 'SIGKILL');
    const crashed = await find(
      'the crash event',
      (e) => e.type === 'infra.instance.crashed' && e.subject === `instance/${victim!.name}`,
    );
    await expectHealed(crashed, victim!.name);
  });

  it('replaces a hung instance with causation to the unhealthy event', async () => {
    const [victim] = await healthy();
    const res = await fetch(`http://${victim!.status.address}/admin/hang`, { method: 'POST' });
    expect(res.status).toBe(200);
    const unhealthy = await find(
      'the unhealthy event',
      (e) => e.type === 'infra.instance.unhealthy' && e.subject === `instance/${victim!.name}`,
    );
    await expectHealed(unhealthy, victim!.name);
  });
});
