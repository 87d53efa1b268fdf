/**
 * GET /v1/series: load, capacity, decisions and cost over time computed from a real SQLite log (a
 * manual clock sets the append times), the consumer-lag sampler, and the route's parameters on a
 * real embedded server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock, type ManualClock } from '../../src/core/clock.js';
import type { CloudEvent } from '../../src/core/event.js';
import { computeSeries, createLagSampler, defaultStep, SERIES_READ_LIMITS } from '../../src/engine/series.js';
import { createSqliteEventLog } from '../../src/log/sqlite/event-log.js';
import type { EventLog } from '../../src/ports/event-log.js';
import { getJson, startTestServer, type TestServer } from './harness.js';

const T0 = Date.UTC(2026, 0, 1, 10, 0, 0);
let dir: string;
let log: EventLog;
let clock: ManualClock;
let seq = 0;

function metrics(group: string, data: Record<string, unknown>): CloudEvent {
  return {
    specversion: '1.0',
    id: `m-${seq++}`,
    source: 'homeostat/provider/local',
    type: 'infra.metrics',
    subject: `instancegroup/${group}`,
    data: { group, ...data },
  } as CloudEvent;
}

function action(group: string, at: number, from: number, to: number, outcome = 'executed'): CloudEvent {
  const id = `act-${seq++}`;
  return {
    specversion: '1.0',
    id,
    source: 'homeostat/actions',
    type: `homeostat.action.${outcome}`,
    subject: `instancegroup/${group}`,
    data: {
      id,
      at,
      policy: `ScalingPolicy/${group}`,
      action: 'scale',
      resource: `instancegroup/${group}`,
      group,
      params: { from, to },
      reason: `scale out ${from} → ${to}`,
      outcome,
    },
  } as CloudEvent;
}

function cost(ratePerHour: number): CloudEvent {
  return {
    specversion: '1.0',
    id: `c-${seq++}`,
    source: 'homeostat/finops',
    type: 'cost.changed',
    subject: 'instancegroup/web',
    data: { ratePerHour },
  } as CloudEvent;
}

/** Appends `events` with the log's clock at `at`. */
async function appendAt(at: number, ...events: CloudEvent[]): Promise<void> {
  clock.set(at);
  await log.append(events);
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'homeostat-series-'));
  clock = createManualClock(T0);
  log = await createSqliteEventLog({ path: join(dir, 'events.db'), clock, writerThread: false });
});

afterEach(async () => {
  await log.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('computeSeries over a real log', () => {
  it('buckets metrics per group: averages load, keeps the highest instance count, and marks decisions', async () => {
    await appendAt(T0 + 1_000, metrics('web', { rps: 10, instances: 2, latencyMs: { p50: 4, p99: 10 }, errorRate: 0 }));
    await appendAt(
      T0 + 5_000,
      metrics('web', { rps: 30, instances: 2, latencyMs: { p50: 6, p99: 40 }, errorRate: 0.1 }),
    );
    await appendAt(T0 + 6_000, action('web', T0 + 6_000, 2, 5));
    await appendAt(
      T0 + 12_000,
      metrics('web', { rps: 50, instances: 5, latencyMs: { p50: 5, p99: 20 }, errorRate: 0 }),
    );
    await appendAt(T0 + 13_000, metrics('api', { rps: 7, instances: 1, cpu: { avg: 0.25, perInstance: {} } }));

    const s = await computeSeries(log, { from: T0, to: T0 + 20_000, stepMs: 10_000 });
    expect(s.stepMs).toBe(10_000);
    expect(s.groups.map((g) => g.group)).toEqual(['api', 'web']);
    const web = s.groups.find((g) => g.group === 'web')!;
    expect(web.points).toEqual([
      { t: T0, rps: 20, instances: 2, latencyP50Ms: 5, latencyP99Ms: 40, errorRate: 0.1, cpu: null },
      { t: T0 + 10_000, rps: 50, instances: 5, latencyP50Ms: 5, latencyP99Ms: 20, errorRate: 0, cpu: null },
    ]);
    expect(web.decisions).toHaveLength(1);
    expect(web.decisions[0]).toMatchObject({ t: T0 + 6_000, action: 'scale', outcome: 'executed', from: 2, to: 5 });
    expect(s.groups.find((g) => g.group === 'api')!.points[0]).toMatchObject({ rps: 7, cpu: 0.25 });
    expect(s.truncated).toEqual([]);
  });

  it('keeps only the groups asked for, and only events inside the range', async () => {
    await appendAt(T0 - 5_000, metrics('web', { rps: 999, instances: 9 }));
    await appendAt(T0 + 1_000, metrics('web', { rps: 1, instances: 1 }), metrics('api', { rps: 2, instances: 1 }));
    const s = await computeSeries(log, { from: T0, to: T0 + 10_000, stepMs: 5_000, groups: ['web'] });
    expect(s.groups).toHaveLength(1);
    expect(s.groups[0]!.points).toEqual([expect.objectContaining({ t: T0, rps: 1, instances: 1 })]);
  });

  it('derives capacity from the per-instance capacity when the provider reports it (sim)', async () => {
    await appendAt(T0 + 1_000, metrics('sim', { rps: 80, instances: 4, healthyInstances: 3, capacityRps: 50 }));
    const s = await computeSeries(log, { from: T0, to: T0 + 10_000, stepMs: 10_000 });
    expect(s.groups[0]!.points[0]!.capacityRps).toBe(150);
  });

  it('carries the cost rate in force before the range and takes the highest rate in each bucket', async () => {
    await appendAt(T0 - 60_000, cost(0.5));
    await appendAt(T0 + 12_000, cost(1.5));
    await appendAt(T0 + 14_000, cost(1.0));
    const s = await computeSeries(log, { from: T0, to: T0 + 30_000, stepMs: 10_000 });
    expect(s.cost).toEqual([
      { t: T0, ratePerHour: 0.5 },
      { t: T0 + 10_000, ratePerHour: 1.5 },
      { t: T0 + 20_000, ratePerHour: 1 },
    ]);
  });

  it('says which series were truncated when the read bound is reached, keeping the newest events', async () => {
    const n = SERIES_READ_LIMITS.decisions + 5;
    const events = Array.from({ length: n }, (_, i) => action('web', T0 + 1 + i, 1, 2));
    for (let i = 0; i < events.length; i += 1_000) await appendAt(T0 + 1 + i, ...events.slice(i, i + 1_000));
    const s = await computeSeries(log, { from: T0, to: T0 + 60_000, stepMs: 10_000 });
    expect(s.truncated).toEqual(['decisions']);
    const decisions = s.groups[0]!.decisions;
    expect(decisions).toHaveLength(SERIES_READ_LIMITS.decisions);
    expect(decisions[decisions.length - 1]!.id).toBe((events[n - 1]!.data as { id: string }).id);
  });
});

describe('the consumer-lag sampler', () => {
  it('records next offset minus each position, bucketed by the series, and forgets beyond its capacity', async () => {
    let position = 0;
    const sampler = createLagSampler({
      log,
      clock,
      positions: () => ({ router: position }),
      intervalMs: 1_000,
      keepMs: 3_000,
    });
    await appendAt(T0 + 100, metrics('web', { rps: 1 }), metrics('web', { rps: 1 }), metrics('web', { rps: 1 }));
    const next = (await log.stats()).nextOffset;
    for (const [t, p] of [
      [T0 + 1_000, 0],
      [T0 + 2_000, next - 1],
      [T0 + 3_000, next],
      [T0 + 4_000, next],
    ] as const) {
      clock.set(t);
      position = p;
      await sampler.sample();
    }
    const samples = sampler.samples(T0, T0 + 10_000);
    expect(samples.map((x) => x.t)).toEqual([T0 + 2_000, T0 + 3_000, T0 + 4_000]);
    expect(samples.map((x) => x.lag)).toEqual([1, 0, 0]);
    const s = await computeSeries(log, { from: T0, to: T0 + 10_000, stepMs: 5_000 }, sampler);
    expect(s.lag).toEqual([{ t: T0, consumer: 'router', lag: 1 }]);
  });
});

describe('defaultStep', () => {
  it('picks a round step that gives at most 300 points', () => {
    expect(defaultStep(15 * 60_000)).toBe(5_000);
    expect(defaultStep(60 * 60_000)).toBe(15_000);
    expect(defaultStep(24 * 3_600_000)).toBe(300_000);
    for (const range of [1_000, 90_000, 7 * 86_400_000]) expect(range / defaultStep(range)).toBeLessThanOrEqual(300);
  });
});

describe('GET /v1/series on the server', () => {
  let server: TestServer;
  afterAll(async () => server?.stop());

  it('answers the documented shape with defaults, and 400 with a pointer for bad parameters', async () => {
    server = await startTestServer();
    const ok = await getJson(server.url, '/v1/series');
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ stepMs: 5_000, groups: [], cost: [], truncated: [] });
    expect(Date.parse(ok.body.to) - Date.parse(ok.body.from)).toBeGreaterThanOrEqual(15 * 60_000);
    expect(Array.isArray(ok.body.lag)).toBe(true);

    const custom = await getJson(server.url, '/v1/series?since=1h&step=1m&group=web');
    expect(custom.body.stepMs).toBe(60_000);

    const tooFine = await getJson(server.url, '/v1/series?since=24h&step=1s');
    expect(tooFine.status).toBe(400);
    expect(tooFine.body.error.problems[0].pointer).toBe('?step');
    const badSince = await getJson(server.url, '/v1/series?since=yesterday');
    expect(badSince.status).toBe(400);
    expect(badSince.body.error.problems[0].pointer).toBe('?since');
  });
});
