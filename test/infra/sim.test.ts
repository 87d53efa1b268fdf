/** The sim provider through the real server: a stack on a simulated cloud converges, faster than real time. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../api/harness.js';
import { callApi } from './helpers.js';

let server: TestServer;

beforeAll(async () => {
  // 50 virtual seconds per real second: a 20 s boot takes about 0.4 s.
  server = await startTestServer({ providers: { sim: { enabled: true, seed: 7, speed: 50 } } });
});

afterAll(async () => {
  await server.stop();
});

const api = <T>(method: string, path: string, body?: unknown) => callApi<T>(server.url, method, path, body);

describe('the sim provider in the server', () => {
  it('converges a stack of simulated instances, faster than real time', async () => {
    const stack = {
      apiVersion: 'homeostat/v1',
      kind: 'Stack',
      metadata: { name: 'simshop' },
      spec: {
        provider: 'sim',
        resources: [
          {
            kind: 'InstanceGroup',
            name: 'api',
            spec: {
              template: { command: 'api', args: [], port: 8080 },
              desired: 5,
              min: 1,
              max: 20,
              instanceType: 'sim.small',
            },
          },
        ],
      },
    };
    const put = await api<{ result: string }>('PUT', '/v1/stacks/simshop', stack);
    expect(put.status).toBe(201);
    const end = Date.now() + 20_000;
    let status = { converged: false, groups: [] as { healthy: number }[] };
    while (!status.converged && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await api<typeof status>('GET', '/v1/stacks/simshop/status')).body;
    }
    expect(status.converged).toBe(true);
    expect(status.groups[0]!.healthy).toBe(5);
    // The provider's events reach the log through the infrastructure service's publisher, just
    // after the state the status reads: wait for them (bounded).
    type Events = { events: { event: { source: string; type: string } }[] };
    let ready: Events['events'] = [];
    const until = Date.now() + 10_000;
    do {
      const { body } = await api<Events>('GET', '/v1/events?type=infra.instance.ready&limit=100');
      ready = body.events.filter((e) => e.event.source === 'homeostat/provider/sim');
      if (ready.length >= 5) break;
      await new Promise((r) => setTimeout(r, 100));
    } while (Date.now() < until);
    expect(ready).toHaveLength(5);
  });
});
