/**
 * GET /metrics against a real server: Prometheus text with ingest, the log, the router, deliveries,
 * the DLQ, automated actions and their rails, resources and cost.
 */
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

  it('counts ingest outcomes, matches and deliveries per rule, actions by outcome, rail refusals and durations', async () => {
    const rule = {
      apiVersion: 'homeostat/v1',
      kind: 'Rule',
      metadata: { name: 'replace-on-signal' },
      spec: { match: { type: ['test.replace'] }, targets: [{ action: 'replace' }] },
    };
    expect((await callApi(server.url, 'PUT', '/v1/rules/replace-on-signal', rule)).status).toBe(201);
    const res = await callApi<{ resources: { kind: string; name: string; status?: { group?: string } }[] }>(
      server.url,
      'GET',
      '/v1/resources?kind=Instance',
    );
    const names = res.body.resources.filter((r) => r.status?.group === 'metered').map((r) => r.name);
    expect(names.length).toBeGreaterThanOrEqual(2);
    // Two instances of a two-instance group: the blast radius (50 %, at least one) lets one through.
    for (const [i, name] of names.slice(0, 2).entries()) {
      const e = event({ id: `replace-${i}`, type: 'test.replace', subject: `instance/${name}` });
      expect((await post(server.url, e, 'application/cloudevents+json')).status).toBe(201);
    }
    const dup = event({ id: 'replace-0', type: 'test.replace', subject: `instance/${names[0]}` });
    expect((await post(server.url, dup, 'application/cloudevents+json')).status).toBe(200);
    expect((await post(server.url, { specversion: '1.0' }, 'application/cloudevents+json')).status).toBe(400);

    const policy = '{policy="Rule/replace-on-signal",action="replace"';
    const text = await until(async () => {
      const t = (await scrape()).text;
      const done = (sample(t, 'homeostat_actions_total', `${policy},outcome="refused"}`) ?? 0) >= 1;
      return done && t;
    }, 'a refused replace in /metrics');
    expect(sample(text, 'homeostat_actions_total', `${policy},outcome="executed"}`)).toBe(1);
    expect(sample(text, 'homeostat_rail_refusals_total', '{rail="blast-radius",policy="Rule/replace-on-signal"}')).toBe(
      1,
    );
    expect(sample(text, 'homeostat_action_duration_seconds_count', '{action="replace",outcome="executed"}')).toBe(1);
    expect(sample(text, 'homeostat_rule_matches_total', '{rule="replace-on-signal"}')).toBe(2);
    expect(sample(text, 'homeostat_delivery_attempts_total', '{rule="replace-on-signal"}')).toBe(2);
    expect(sample(text, 'homeostat_deliveries_total', '{rule="replace-on-signal",outcome="delivered"}')).toBe(2);
    expect(sample(text, 'homeostat_events_ingested_total', '{origin="external"}')).toBeGreaterThanOrEqual(5);
    expect(sample(text, 'homeostat_events_ingested_total', '{origin="internal"}')).toBeGreaterThan(0);
    expect(sample(text, 'homeostat_events_duplicate_total')).toBe(1);
    expect(sample(text, 'homeostat_events_rejected_total', '{code="E_EVENT_INVALID"}')).toBe(1);
    expect(sample(text, 'homeostat_log_retention_max_age_seconds')).toBe(7 * 86_400);
    expect(sample(text, 'homeostat_log_oldest_event_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(text).toContain('# TYPE homeostat_action_duration_seconds histogram');
    expect(text).toContain('# TYPE homeostat_workflow_run_duration_seconds histogram');
  });
});
