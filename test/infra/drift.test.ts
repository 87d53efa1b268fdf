/** Drift policies, scale-in and re-adoption after a restart, through the real server. */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../api/harness.js';
import { callApi, until } from './helpers.js';

const WEB = fileURLToPath(new URL('../../examples/services/web.mjs', import.meta.url));

let server: TestServer;

const stack = (name: string, drift: string, desired: number) => ({
  apiVersion: 'homeostat/v1',
  kind: 'Stack',
  metadata: { name },
  spec: {
    drift,
    resources: [
      {
        kind: 'InstanceGroup',
        name: `${name}-web`,
        spec: {
          template: { command: process.execPath, args: [WEB], env: { WORK_MS: '1' }, port: 0 },
          desired,
          min: 1,
          max: 5,
          healthCheck: { path: '/healthz', interval: '200ms', timeout: '150ms' },
        },
      },
      {
        kind: 'LoadBalancer',
        name: `${name}-lb`,
        spec: { listen: '127.0.0.1:0', targetGroup: `${name}-web`, algorithm: 'round-robin' },
      },
    ],
  },
});

const api = <T>(method: string, path: string, body?: unknown) => callApi<T>(server.url, method, path, body);

const converged = (name: string) => async () =>
  (await api<{ converged: boolean }>('GET', `/v1/stacks/${name}/status`)).body.converged;

async function balancerAlgorithm(name: string): Promise<string> {
  const { body } = await api<{ resources: { name: string; spec: { algorithm: string } }[] }>(
    'GET',
    '/v1/resources?kind=LoadBalancer',
  );
  return body.resources.find((r) => r.name === name)!.spec.algorithm;
}

async function livePids(group: string): Promise<number[]> {
  const { body } = await api<{ resources: { status: { group: string; phase: string; pid: number } }[] }>(
    'GET',
    '/v1/resources?kind=Instance',
  );
  return body.resources
    .filter((r) => r.status.group === group && r.status.phase === 'running')
    .map((r) => r.status.pid)
    .sort();
}

// Instances outlive a server that closes (as in production), so the restart test can re-adopt
// them; at the end the stacks are deleted with their resources, which stops every instance.
beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  for (const name of ['rev', 'acc', 'scale']) await api('DELETE', `/v1/stacks/${name}?prune=true`);
  await until(async () => {
    const { body } = await api<{ resources: { status: { phase: string } }[] }>('GET', '/v1/resources?kind=Instance');
    return body.resources.every((r) => r.status.phase === 'stopped' || r.status.phase === 'crashed');
  }, 'every instance stopped');
  await server.stop();
});

describe('drift and scaling', () => {
  it('reverts an out-of-band change when the stack says revert', async () => {
    await api('PUT', '/v1/stacks/rev', stack('rev', 'revert', 1));
    await until(converged('rev'), 'rev converged');
    await api('PATCH', '/v1/resources/loadbalancer/rev-lb', { algorithm: 'least-connections' });
    await until(async () => (await balancerAlgorithm('rev-lb')) === 'round-robin', 'the change reverted');
  });

  it('accepts an out-of-band change into the stack when the stack says accept', async () => {
    await api('PUT', '/v1/stacks/acc', stack('acc', 'accept', 1));
    await until(converged('acc'), 'acc converged');
    await api('PATCH', '/v1/resources/loadbalancer/acc-lb', { algorithm: 'least-connections' });
    const stored = await until(async () => {
      const { body } = await api<{
        manifest: { spec: { resources: { name: string; spec: { algorithm?: string } }[] } };
      }>('GET', '/v1/stacks/acc');
      const lb = body.manifest.spec.resources.find((r) => r.name === 'acc-lb');
      return lb?.spec.algorithm === 'least-connections' ? lb : undefined;
    }, 'the stack updated');
    expect(stored.spec.algorithm).toBe('least-connections');
    expect(await balancerAlgorithm('acc-lb')).toBe('least-connections');
  });

  it('drains and stops extra instances when desired goes down', async () => {
    await api('PUT', '/v1/stacks/scale', stack('scale', 'alert', 3));
    await until(converged('scale'), 'three instances');
    expect(await livePids('scale-web')).toHaveLength(3);
    const res = await api<{ lines: string[] }>('PUT', '/v1/stacks/scale', stack('scale', 'alert', 1));
    expect(res.body.lines.join('\n')).toMatch(/desired/);
    await until(
      async () => (await livePids('scale-web')).length === 1 && (await converged('scale')()),
      'one instance left',
    );
  });

  it('re-adopts running instances after a restart instead of starting duplicates', async () => {
    const before = await livePids('scale-web');
    const dir = server.dataDir;
    await server.server.close();
    server = await startTestServer({}, dir);
    await until(converged('scale'), 'converged after the restart');
    expect(await livePids('scale-web')).toEqual(before);
  });
});
