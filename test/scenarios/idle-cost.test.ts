/**
 * Scenario 4 through the real embedded server (local provider, real processes, shortened windows):
 * an idle group is scaled to its minimum by an IdlePolicy, with the action named in the cost
 * report's attribution; a Schedule (6-field cron, seconds first) stops the stack (rate 0) and
 * starts it again at its remembered size.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../api/harness.js';
import { callApi, until } from '../infra/helpers.js';

const WEB = fileURLToPath(new URL('../../examples/services/web.mjs', import.meta.url));
const STACK = 'idle';

let server: TestServer;
const api = <T>(method: string, path: string, body?: unknown) => callApi<T>(server.url, method, path, body);

interface Cost {
  ratePerHour: number;
  window: { cost: number };
  changes: { text: string }[];
}
const cost = async () => (await api<Cost>('GET', `/v1/cost?stack=${STACK}&since=1h&changes=100`)).body;

async function running(): Promise<number> {
  const { body } = await api<{ resources: { status: { phase: string; healthy: boolean } }[] }>(
    'GET',
    '/v1/resources?kind=Instance',
  );
  return body.resources.filter((r) => r.status.phase === 'running' && r.status.healthy).length;
}

/** A cron (seconds first, UTC) that fires once, at `at`. */
function cronAt(at: number): string {
  const d = new Date(at);
  return `${d.getUTCSeconds()} ${d.getUTCMinutes()} ${d.getUTCHours()} ${d.getUTCDate()} ${d.getUTCMonth() + 1} *`;
}

beforeAll(async () => {
  server = await startTestServer({ providers: { local: { metricsInterval: '200ms' } } }, undefined, {
    stopInfraOnClose: true,
  });
  await api('PUT', `/v1/stacks/${STACK}`, {
    apiVersion: 'homeostat/v1',
    kind: 'Stack',
    metadata: { name: STACK },
    spec: {
      resources: [
        {
          kind: 'InstanceGroup',
          name: 'idle-web',
          spec: {
            template: { command: process.execPath, args: [WEB], port: 0 },
            desired: 2,
            min: 1,
            max: 3,
            instanceType: 'local.small',
            healthCheck: { path: '/healthz', interval: '200ms', timeout: '150ms' },
          },
        },
        { kind: 'LoadBalancer', name: 'idle-lb', spec: { listen: '127.0.0.1:0', targetGroup: 'idle-web' } },
      ],
    },
  });
  await until(async () => (await running()) === 2, 'two instances running');
}, 30_000);

afterAll(async () => {
  await api('DELETE', `/v1/stacks/${STACK}?prune=true`);
  await server.stop();
});

describe('scenario 4: idle overnight and scheduled stop', () => {
  let busyRate = 0;

  it('scales an idle group to its minimum and attributes the cost change to the IdlePolicy', async () => {
    busyRate = (await cost()).ratePerHour;
    expect(busyRate).toBeGreaterThan(0);
    const res = await api('PUT', '/v1/policies/IdlePolicy/idle-web', {
      apiVersion: 'homeostat/v1',
      kind: 'IdlePolicy',
      metadata: { name: 'idle-web' },
      spec: { target: 'group/idle-web', metric: { field: 'data.rps', below: 1 }, for: '2s', action: 'scale-to-min' },
    });
    expect(res.status).toBe(201);
    await until(async () => (await running()) === 1, 'the group scaled to min 1');
    const report = await until(async () => {
      const c = await cost();
      return c.changes.some((x) => x.text.includes('stopped')) ? c : undefined;
    }, 'the stop attributed');
    expect(report.ratePerHour).toBeLessThan(busyRate);
    const stop = report.changes.find((x) => x.text.includes('stopped'))!.text;
    expect(stop).toMatch(/IdlePolicy\/idle-web scale idle-web 2→1/);
    expect(stop).toMatch(/condition of rule idlepolicy\.idle-web\.idle/);
  });

  it('stops the stack on schedule (rate 0) and starts it again at its remembered size', async () => {
    const stopAt = Math.ceil((Date.now() + 3000) / 1000) * 1000;
    const res = await api('PUT', '/v1/policies/Schedule/nightly', {
      apiVersion: 'homeostat/v1',
      kind: 'Schedule',
      metadata: { name: 'nightly' },
      spec: { target: { stack: STACK }, timezone: 'UTC', stop: cronAt(stopAt), start: cronAt(stopAt + 5000) },
    });
    expect(res.status).toBe(201);
    await until(async () => (await cost()).ratePerHour === 0 && (await running()) === 0, 'the scheduled stop');
    const night = await cost();
    expect(night.changes.some((x) => /Schedule\/nightly scale idle-web 1→0/.test(x.text))).toBe(true);
    expect(night.changes.some((x) => /schedule nightly stop/.test(x.text))).toBe(true);
    await until(async () => (await running()) === 1, 'the scheduled start');
    const morning = await until(async () => {
      const c = await cost();
      return c.ratePerHour > 0 ? c : undefined;
    }, 'the rate back');
    expect(morning.ratePerHour).toBeLessThan(busyRate);
    expect(morning.window.cost).toBeGreaterThan(night.window.cost * 0.999);
  }, 30_000);
});
