import { mkdtempSync, rmSync } from 'node:fs';
import { type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock, systemClock } from '../../src/core/clock.js';
import type { CloudEvent } from '../../src/core/event.js';
import { createIngestor } from '../../src/ingest/ingest.js';
import { createSchemaRegistry } from '../../src/ingest/schema-registry.js';
import { createSqliteEventLog } from '../../src/log/sqlite/event-log.js';
import type { EventLog } from '../../src/ports/event-log.js';
import {
  type PrometheusSourceConfig,
  type ResolvedPrometheusSource,
  resolvePrometheusSources,
} from '../../src/sources/prometheus/config.js';
import { type Publish, createPrometheusScraper, createPrometheusSources } from '../../src/sources/prometheus/scrape.js';
import type { SqliteDatabase } from '../../src/store/sqlite/database.js';
import { createSqliteSchemaStore } from '../../src/store/sqlite/schema-store.js';
import { openStateDatabase } from '../../src/store/sqlite/state.js';

/** A real HTTP server serving metrics text that tests change between scrapes. */
interface MetricsTarget {
  readonly url: string;
  text: string;
  status: number;
  /** Accept requests and never answer. */
  hang: boolean;
  /** Serve this many bytes of comment lines instead of `text`. */
  flood: number;
  requests: number;
  close(): Promise<void>;
}

async function startTarget(): Promise<MetricsTarget> {
  const held: ServerResponse[] = [];
  const server: Server = createServer((_req, res) => {
    target.requests++;
    if (target.hang) {
      held.push(res);
      return;
    }
    res.writeHead(target.status, { 'content-type': 'text/plain; version=0.0.4' });
    if (target.flood > 0) {
      const chunk = `# ${'x'.repeat(1021)}\n`;
      for (let sent = 0; sent < target.flood; sent += chunk.length) res.write(chunk);
    }
    res.end(target.text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const target: MetricsTarget = {
    url: `http://127.0.0.1:${port}/metrics`,
    text: '',
    status: 200,
    hang: false,
    flood: 0,
    requests: 0,
    close: async () => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return target;
}

interface Traffic {
  ok: number;
  fail: number;
  /** Cumulative counts for le 0.1, 0.2, 0.5, +Inf. */
  buckets: [number, number, number, number];
  inFlight: number;
  cpuSeconds: number;
  rssBytes: number;
}

function exposition(t: Traffic): string {
  const les = ['0.1', '0.2', '0.5', '+Inf'];
  return [
    '# HELP http_requests_total Requests served.',
    '# TYPE http_requests_total counter',
    `http_requests_total{code="200",method="GET"} ${t.ok}`,
    `http_requests_total{code="503",method="GET"} ${t.fail}`,
    '# TYPE http_request_duration_seconds histogram',
    ...les.map((le, i) => `http_request_duration_seconds_bucket{le="${le}"} ${t.buckets[i]}`),
    `http_request_duration_seconds_sum 12.5`,
    `http_request_duration_seconds_count ${t.buckets[3]}`,
    '# TYPE http_requests_in_flight gauge',
    `http_requests_in_flight ${t.inFlight}`,
    '# TYPE process_cpu_seconds_total counter',
    `process_cpu_seconds_total ${t.cpuSeconds}`,
    '# TYPE process_resident_memory_bytes gauge',
    `process_resident_memory_bytes ${t.rssBytes}`,
    '# TYPE go_goroutines gauge',
    'go_goroutines 12',
    '',
  ].join('\n');
}

const QUIET: Traffic = {
  ok: 100,
  fail: 0,
  buckets: [10, 10, 10, 10],
  inFlight: 1,
  cpuSeconds: 1,
  rssBytes: 52_428_800,
};
const BUSY: Traffic = {
  ok: 190,
  fail: 10,
  buckets: [60, 100, 110, 110],
  inFlight: 7,
  cpuSeconds: 1.5,
  rssBytes: 52_428_800,
};

function sourceConfig(url: string, extra: Partial<PrometheusSourceConfig> = {}): PrometheusSourceConfig {
  return {
    name: 'web-metrics',
    url,
    group: 'web',
    metrics: {
      requests: 'http_requests_total',
      errors: { metric: 'http_requests_total', label: 'code', match: '^5' },
      latency: 'http_request_duration_seconds',
      inFlight: 'http_requests_in_flight',
      cpu: 'process_cpu_seconds_total',
      memory: 'process_resident_memory_bytes',
    },
    ...extra,
  };
}

function resolved(url: string, extra: Partial<PrometheusSourceConfig> = {}): ResolvedPrometheusSource {
  return resolvePrometheusSources([sourceConfig(url, extra)])[0]!;
}

const silent = pino({ level: 'silent' });
let dir: string;
let log: EventLog;
let db: SqliteDatabase;
let publish: Publish;
let target: MetricsTarget;

/** What the embedded runtime passes: ingest (envelope and schema checks), per-entry results. */
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'homeostat-scrape-'));
  log = await createSqliteEventLog({ path: join(dir, 'events.db'), writerThread: false });
  db = openStateDatabase({ path: join(dir, 'state.db'), fsync: 'normal' });
  const schemas = await createSchemaRegistry(createSqliteSchemaStore(db));
  const ingestor = createIngestor({ log, schemas, limits: { maxEventBytes: 262_144, maxPendingEvents: 10_000 } });
  publish = async (events) =>
    (await ingestor.ingest({ entries: events, batch: true, bodyBytes: Number.POSITIVE_INFINITY })).results;
  target = await startTarget();
});
afterEach(async () => {
  await target.close();
  await log.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

async function logged(type?: string): Promise<CloudEvent[]> {
  const all = (await log.read()).map((r) => r.event);
  return type === undefined ? all : all.filter((e) => e.type === type);
}

/** Polls until `check` holds; the test timeout bounds the wait. */
async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 10));
}

describe('Prometheus scrape source', () => {
  it('publishes one infra.metrics event per scrape after the baseline, with rates, quantiles and gauges', async () => {
    const clock = createManualClock(Date.UTC(2026, 3, 1, 12));
    const scraper = createPrometheusScraper(resolved(target.url), { publish, clock, logger: silent });
    target.text = exposition(QUIET);
    expect(await scraper.scrape()).toEqual({ ok: true, metrics: false });
    expect(await logged()).toEqual([]);

    target.text = exposition(BUSY);
    clock.advance(1000);
    expect(await scraper.scrape()).toEqual({ ok: true, metrics: true });
    const [ev, ...rest] = await logged();
    expect(rest).toEqual([]);
    expect(ev).toMatchObject({
      type: 'infra.metrics',
      source: 'homeostat/scrape/web-metrics',
      subject: 'instancegroup/web',
      partitionkey: 'instancegroup/web',
      time: '2026-04-01T12:00:01.000Z',
      datacontenttype: 'application/json',
    });
    const data = ev!.data as any;
    expect(data).toMatchObject({
      group: 'web',
      requests: 100,
      rps: 100,
      errors: 10,
      errorRate: 0.1,
      inFlight: 7,
      cpu: { avg: 0.5, perInstance: { 'web-metrics': 0.5 } },
      memoryMiB: { avg: 50, perInstance: { 'web-metrics': 50 } },
      intervalMs: 1000,
      windowMs: 1000,
      missing: [],
      scrape: { name: 'web-metrics', url: target.url },
    });
    expect(data.latencyMs.p50).toBeCloseTo(100, 9);
    expect(data.latencyMs.p95).toBeCloseTo(350, 9);
    expect(data.latencyMs.p99).toBeCloseTo(470, 9);
    // The raw samples of the mapped metrics only (go_goroutines is not mapped).
    expect(data.samples).toHaveLength(11);
    expect(data.samples[0]).toEqual({
      name: 'http_requests_total',
      labels: { code: '200', method: 'GET' },
      value: 190,
    });
    expect(data.samples.some((s: any) => s.name === 'go_goroutines')).toBe(false);
    await scraper.close();
  });

  it('reads a target restart (counters back near zero) as growth from zero, never a negative rate', async () => {
    const clock = createManualClock();
    const scraper = createPrometheusScraper(resolved(target.url), { publish, clock, logger: silent });
    target.text = exposition(BUSY);
    await scraper.scrape();
    target.text = exposition({ ...QUIET, ok: 4, fail: 1, buckets: [5, 5, 5, 5], cpuSeconds: 0.25 });
    clock.advance(500);
    await scraper.scrape();
    const [ev] = await logged('infra.metrics');
    expect(ev!.data).toMatchObject({ requests: 5, rps: 10, errors: 1, errorRate: 0.2, cpu: { avg: 0.5 } });
    await scraper.close();
  });

  it('publishes infra.scrape.failed once per failure streak and infra.scrape.recovered when it ends', async () => {
    const clock = createManualClock(Date.UTC(2026, 3, 1));
    const scraper = createPrometheusScraper(resolved(target.url), { publish, clock, logger: silent });
    target.text = exposition(QUIET);
    await scraper.scrape();
    target.status = 503;
    for (let i = 0; i < 3; i++) {
      clock.advance(1000);
      expect(await scraper.scrape()).toEqual({ ok: false, kind: 'http', reason: 'HTTP 503 Service Unavailable' });
    }
    target.status = 200;
    target.text = exposition(BUSY);
    clock.advance(1000);
    await scraper.scrape();
    target.status = 500;
    clock.advance(1000);
    await scraper.scrape();

    const events = await logged();
    expect(events.map((e) => e.type)).toEqual([
      'infra.scrape.failed',
      'infra.scrape.recovered',
      'infra.metrics',
      'infra.scrape.failed',
    ]);
    expect(events[0]).toMatchObject({
      source: 'homeostat/scrape/web-metrics',
      subject: 'instancegroup/web',
      time: '2026-04-01T00:00:01.000Z',
      data: { name: 'web-metrics', url: target.url, group: 'web', kind: 'http', status: 503 },
    });
    expect(events[1]!.data).toEqual({ name: 'web-metrics', url: target.url, group: 'web', failures: 3, downMs: 3000 });
    // Rates span the gap: from the last good scrape to the first one after it.
    expect(events[2]!.data).toMatchObject({ windowMs: 4000, requests: 100, rps: 25 });
    expect(events[3]!.data).toMatchObject({ kind: 'http', status: 500, reason: 'HTTP 500 Internal Server Error' });
    await scraper.close();
  });

  it('fails a scrape that gets no answer within the timeout', async () => {
    const scraper = createPrometheusScraper(resolved(target.url, { timeout: '200ms' }), {
      publish,
      clock: systemClock,
      logger: silent,
    });
    target.hang = true;
    expect(await scraper.scrape()).toEqual({ ok: false, kind: 'timeout', reason: 'no answer within 200ms' });
    const [ev] = await logged();
    expect(ev).toMatchObject({ type: 'infra.scrape.failed', data: { kind: 'timeout' } });
    await scraper.close();
  });

  it('fails a scrape of a port nobody listens on as a connection failure', async () => {
    const url = target.url;
    await target.close();
    target = await startTarget();
    const scraper = createPrometheusScraper(resolved(url), { publish, clock: systemClock, logger: silent });
    const outcome = await scraper.scrape();
    expect(outcome).toMatchObject({ ok: false, kind: 'connect' });
    expect((outcome as { reason: string }).reason).toMatch(/ECONNREFUSED/);
    await scraper.close();
  });

  it('fails a scrape of malformed text, naming the URL, line and column', async () => {
    const scraper = createPrometheusScraper(resolved(target.url), { publish, clock: systemClock, logger: silent });
    target.text = '# TYPE up gauge\nup{job="a" 1\n';
    const outcome = await scraper.scrape();
    expect(outcome).toMatchObject({ ok: false, kind: 'parse' });
    expect((outcome as { reason: string }).reason).toContain(`${target.url}:2:`);
    const [ev] = await logged();
    expect((ev!.data as any).reason).toContain(`${target.url}:2:`);
    await scraper.close();
  });

  it('fails a scrape whose body exceeds 16 MiB', async () => {
    const scraper = createPrometheusScraper(resolved(target.url), { publish, clock: systemClock, logger: silent });
    target.flood = 17 * 1_048_576;
    expect(await scraper.scrape()).toMatchObject({ ok: false, kind: 'too-large' });
    await scraper.close();
  });

  it('lists mapped metrics the target does not expose and warns about each once', async () => {
    const lines: any[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const logger = pino({ level: 'info' }, sink);
    const clock = createManualClock();
    const config = sourceConfig(target.url, {
      metrics: { requests: 'http_requests_total', cpu: 'nope_seconds_total' },
    });
    const scraper = createPrometheusScraper(resolvePrometheusSources([config])[0]!, { publish, clock, logger });
    target.text = exposition(QUIET);
    for (let i = 0; i < 3; i++) {
      clock.advance(1000);
      await scraper.scrape();
    }
    const events = await logged('infra.metrics');
    expect(events).toHaveLength(2);
    expect(events[0]!.data).toMatchObject({ missing: ['cpu'], requests: 0 });
    expect(events[0]!.data).not.toHaveProperty('cpu');
    await until(() => lines.some((l) => l.key === 'cpu'));
    expect(lines.filter((l) => l.key === 'cpu')).toHaveLength(1);
    expect(lines.find((l) => l.key === 'cpu').msg).toBe('metric for metrics.cpu not found in the scrape');
    await scraper.close();
  });

  it('scrapes every source on its interval until closed, one event per group per scrape', async () => {
    const other = await startTarget();
    try {
      target.text = exposition(QUIET);
      other.text = exposition(BUSY);
      const sources = resolvePrometheusSources([
        sourceConfig(target.url, { interval: '50ms' }),
        sourceConfig(other.url, { name: 'api-metrics', group: 'api', interval: '50ms' }),
      ]);
      const running = createPrometheusSources(
        { sources: { prometheus: sources } },
        { publish, clock: systemClock, logger: silent },
      );
      running.start();
      const count = async (subject: string) =>
        (await logged('infra.metrics')).filter((e) => e.subject === subject).length;
      await until(async () => (await count('instancegroup/web')) >= 3 && (await count('instancegroup/api')) >= 3);
      await running.close();
      const seen = target.requests + other.requests;
      const events = await logged('infra.metrics');
      for (const e of events) {
        const name = e.subject === 'instancegroup/web' ? 'web-metrics' : 'api-metrics';
        expect(e.source).toBe(`homeostat/scrape/${name}`);
        expect((e.data as any).group).toBe(e.subject!.split('/')[1]);
      }
      // Closed: no further requests, and a direct scrape says so.
      await new Promise((r) => setTimeout(r, 200));
      expect(target.requests + other.requests).toBe(seen);
      expect(await running.scrapers[0]!.scrape()).toMatchObject({ ok: false, kind: 'closed' });
    } finally {
      await other.close();
    }
  });

  it('close aborts a scrape in flight without reporting it as a failure', async () => {
    target.hang = true;
    const source = resolved(target.url, { interval: '30s', timeout: '30s' });
    const running = createPrometheusSources(
      { sources: { prometheus: [source] } },
      { publish, clock: systemClock, logger: silent },
    );
    running.start();
    await until(() => target.requests === 1);
    await running.close();
    expect(await logged()).toEqual([]);
  });
});
