/**
 * @module A fleet of thousands of simulated instances on a real embedded server (the sim provider,
 * fast virtual time, metrics rarely), for the resources paging tests.
 */
import { createSimProvider } from '../../src/providers/sim/provider.js';
import { startTestServer, type TestServer } from '../api/harness.js';
import { callApi, until } from '../infra/helpers.js';

export interface Fleet {
  readonly server: TestServer;
  /** Instances per group. */
  readonly sizes: Readonly<Record<string, number>>;
}

/** Starts a server and applies a sim stack with the groups given, then waits for every instance to exist. */
export async function startFleet(sizes: Readonly<Record<string, number>>): Promise<Fleet> {
  const sim = createSimProvider({ seed: 11, speed: 200, metricsInterval: '10m' });
  const server = await startTestServer({}, undefined, { sim, stopInfraOnClose: true });
  const stack = {
    apiVersion: 'homeostat/v1',
    kind: 'Stack',
    metadata: { name: 'fleet' },
    spec: {
      provider: 'sim',
      resources: Object.entries(sizes).map(([name, desired]) => ({
        kind: 'InstanceGroup',
        name,
        tags: { team: name },
        spec: { template: { command: name, args: [], port: 8080 }, desired, instanceType: 'sim.small' },
      })),
    },
  };
  const put = await callApi<unknown>(server.url, 'PUT', '/v1/stacks/fleet', stack);
  if (put.status !== 201) throw new Error(`the fleet stack was not created: ${JSON.stringify(put.body)}`);
  const want = Object.values(sizes).reduce((a, b) => a + b, 0);
  await until(
    async () => {
      const r = await callApi<{ total: number }>(server.url, 'GET', '/v1/resources?kind=Instance&limit=1');
      return r.body.total >= want;
    },
    `${want} instances`,
    60_000,
  );
  return { server, sizes };
}
