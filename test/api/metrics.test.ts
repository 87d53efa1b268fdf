/** GET /metrics against a real server: Prometheus text with the log, router, DLQ, resources and cost. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callApi, until } from '../infra/helpers.js';
import { event, post, startTestServer, type TestServer } from './harness.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ providers: { sim: { enabled: true, seed: 5, speed: 50 } } });
});

afterAll(async () => {
  await server.stop();
});

async function scrape(): Promise<{ type: string; text: string }> {
  const res = await fetch(`${server.url}/metrics`);
  expect(res.status).toBe(200);
  return { type: res.headers.get('content-type') ?? '', text: await res.text() };
}

/** The value of a sample line `name{labels} value`, or undefined. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}${labels} `) || (labels === '' && l.startsWith(`${name} `)));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

describe('GET /metrics', () => {
  it('serves the Prometheus text format with the log, router and dispatcher state', async () => {
    for (let i = 0; i < 3; i++)
      expect((await post(server.url, event(), 'application/cloudevents+json')).status).toBe(201);
    const { type, text } = await scrape();
    expect(type).toContain('text/plain');
    expect(text).toContain('# TYPE homeostat_router_events_routed_total counter');
    expect(sample(text, 'homeostat_log_events')).toBeGreaterThanOrEqual(3);
    expect(sample(text, 'homeostat_log_bytes')).toBeGreaterThan(0);
    expect(sample(text, 'homeostat_dlq_depth')).toBe(0);
    expect(sample(text, 'homeostat_dispatcher_backlog')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'homeostat_consumer_lag_events', '{consumer="router"}')).toBeGreaterThanOrEqual(0);
  });

  it('counts routed events monotonically and reports resources by state and the cost rate', async () => {
    const before = sample((await scrape()).text, 'homeostat_router_events_routed_total') ?? 0;
    const stack = {
      apiVersion: 'homeostat/v1',
      kind: 'Stack',
      metadata: { name: 'metered' },
      spec: {
        provider: 'sim',
        resources: [
          {
            kind: 'InstanceGroup',
            name: 'metered',
            spec: {
              template: { command: 'x', args: [], port: 8080 },
              desired: 2,
              min: 1,
              max: 4,
              instanceType: 'sim.small',
            },
          },
        ],
      },
    };
    expect((await callApi(server.url, 'PUT', '/v1/stacks/metered', stack)).status).toBe(201);
    const text = await until(async () => {
      const t = (await scrape()).text;
      return (
        (sample(t, 'homeostat_resources', '{provider="sim",kind="Instance",state="running-healthy"}') ?? 0) >= 2 && t
      );
    }, 'two healthy sim instances in /metrics');
    expect(sample(text, 'homeostat_router_events_routed_total')).toBeGreaterThan(before);
    expect(sample(text, 'homeostat_cost_rate_per_hour', '{provider="sim",group="metered"}')).toBeGreaterThan(0);
  });
});
