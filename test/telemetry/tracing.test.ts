/**
 * OpenTelemetry tracing end to end: a real embedded server exporting over OTLP/HTTP to an
 * in-process collector (a plain HTTP server that keeps the spans it is sent). One flash-sale
 * reaction on the `local` provider (metrics event → rule match → delivery to the ScalingPolicy →
 * scale action → action event → new instance started) must be one connected trace, and a
 * client's own traceparent must be kept and continued.
 */
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createFlashApi,
  descendants,
  directionOf,
  FLASH_POLICY,
  FLASH_STACK,
  type FlashApi,
  flashSalePolicy,
  flashSaleStack,
  scaleActions,
  until,
} from '../../bench/scenarios/flash-sale-server.js';
import { type Load, startLoad } from '../../src/loadgen/load.js';
import { event, post, startTestServer, type TestServer } from '../api/harness.js';

interface CollectedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  readonly attributes: Record<string, unknown>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: { key: string; value: OtlpValue }[];
}
interface OtlpBody {
  resourceSpans?: { scopeSpans?: { spans?: OtlpSpan[] }[] }[];
}

const spans: CollectedSpan[] = [];
const requests: string[] = [];
let collector: Server;
let collectorUrl: string;
let server: TestServer;
let api: FlashApi;
const pids = new Set<number>();

function valueOf(v: OtlpValue): unknown {
  return v.stringValue ?? v.intValue ?? v.boolValue ?? v.doubleValue;
}

async function startCollector(): Promise<void> {
  collector = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpBody;
      for (const rs of body.resourceSpans ?? [])
        for (const ss of rs.scopeSpans ?? [])
          for (const s of ss.spans ?? [])
            spans.push({
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId ?? '',
              name: s.name,
              attributes: Object.fromEntries((s.attributes ?? []).map((a) => [a.key, valueOf(a.value)])),
            });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  const address = collector.address();
  collectorUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/v1/traces`;
}

interface WireEvent {
  id: string;
  type: string;
  subject?: string;
  causationid?: string;
  traceparent?: string;
  data?: Record<string, unknown>;
}

async function logEvents(types: string): Promise<WireEvent[]> {
  const res = await fetch(`${server.url}/v1/events?type=${types}&limit=1000`);
  return ((await res.json()) as { events: { event: WireEvent }[] }).events.map((r) => r.event);
}

const traceIdOf = (traceparent: string | undefined): string => traceparent?.split('-')[1] ?? '';

beforeAll(async () => {
  await startCollector();
  server = await startTestServer(
    { providers: { local: { metricsInterval: '250ms' } }, tracing: { enabled: true, endpoint: collectorUrl } },
    undefined,
    { stopInfraOnClose: true },
  );
  api = createFlashApi(server.url);
});

afterAll(async () => {
  await api.call('DELETE', `/v1/policies/ScalingPolicy/${FLASH_POLICY}`).catch(() => undefined);
  await api.call('DELETE', `/v1/stacks/${FLASH_STACK}?prune=true`).catch(() => undefined);
  await server.stop();
  await new Promise((resolve) => collector.close(resolve));
  for (const pid of pids) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('web.mjs')) process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

describe('OpenTelemetry tracing', () => {
  it('keeps a client traceparent and continues its trace through a rule and the event it emits', async () => {
    const rule = {
      apiVersion: 'homeostat/v1',
      kind: 'Rule',
      metadata: { name: 'traced-chain' },
      spec: {
        match: { type: ['test.traced'] },
        targets: [{ action: 'emit', with: { type: 'test.traced.followup', data: { from: '<$.id>' } } }],
      },
    };
    const put = await fetch(`${server.url}/v1/rules/traced-chain`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(rule),
    });
    expect(put.status).toBe(201);
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const sent = event({ id: 'traced-1', type: 'test.traced', traceparent });
    expect((await post(server.url, sent, 'application/cloudevents+json')).status).toBe(201);
    const followup = await until(
      async () => (await logEvents('test.traced.followup')).find((e) => e.causationid === 'traced-1'),
      'the emitted follow-up event',
      10_000,
    );
    const [stored] = (await logEvents('test.traced')).filter((e) => e.id === 'traced-1');
    expect(stored?.traceparent).toBe(traceparent);
    expect(traceIdOf(followup.traceparent)).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(followup.traceparent).not.toBe(traceparent);
  });

  it('makes one flash-sale reaction one connected trace, from the metrics event to the new instance', async () => {
    await api.call(
      'PUT',
      `/v1/stacks/${FLASH_STACK}`,
      flashSaleStack({ minInstances: 2, maxInstances: 4, healthIntervalMs: 100, workMs: 1 }),
    );
    await until(
      async () => {
        const live = (await api.instances()).filter((i) => i.status.phase === 'running' && i.status.healthy);
        for (const i of live) pids.add(i.status.pid);
        return live.length === 2 ? true : undefined;
      },
      '2 healthy instances',
      15_000,
    );
    await api.call(
      'PUT',
      `/v1/policies/ScalingPolicy/${FLASH_POLICY}`,
      flashSalePolicy({
        minInstances: 2,
        maxInstances: 4,
        target: 20,
        scaleOutCooldownMs: 500,
        scaleInStabilizationMs: 60_000,
        scaleInCooldownMs: 500,
      }),
    );
    const load: Load = startLoad({ address: await api.balancerAddress(), rate: () => 100, timeoutMs: 10_000 });
    let action: WireEvent;
    let started: WireEvent;
    try {
      const out = await until(
        async () => scaleActions(await api.events()).find((a) => directionOf(a) === 'up'),
        'a scale-out',
        20_000,
      );
      action = (await logEvents('homeostat.action.executed')).find((e) => e.id === out.id)!;
      // Caused by the action directly or through the group's scaled event and the reconciler.
      const startedId = await until(
        async () => descendants(await api.events(), out.id).find((e) => e.type === 'infra.instance.started')?.id,
        'an instance started by the scale-out',
        15_000,
      );
      started = (await logEvents('infra.instance.started')).find((e) => e.id === startedId)!;
      pids.add(started.data?.pid as number);
    } finally {
      await load.stop();
    }
    const traceId = traceIdOf(action.traceparent);
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(traceIdOf(started.traceparent)).toBe(traceId);

    // Spans are exported in batches: wait until the instance's own span has arrived.
    await until(
      async () =>
        spans.some((s) => s.traceId === traceId && s.name === 'event infra.instance.started') ? true : undefined,
      "the started instance's span at the collector",
      15_000,
    );
    expect(requests[0]).toMatch(/^POST \/v1\/traces application\/json/);
    const trace = spans.filter((s) => s.traceId === traceId);
    const ids = new Set(trace.map((s) => s.spanId));
    const roots = trace.filter((s) => s.parentSpanId === '');
    // One root (the metrics event), and every other span's parent is in the same trace.
    expect(roots.map((s) => s.name)).toEqual(['event infra.metrics']);
    expect(trace.filter((s) => s.parentSpanId !== '' && !ids.has(s.parentSpanId))).toEqual([]);
    const names = new Set(trace.map((s) => s.name));
    for (const name of [
      'event infra.metrics',
      'action scale',
      'event homeostat.action.executed',
      'event infra.instance.started',
    ]) {
      expect(names, `span '${name}' in ${[...names].join(', ')}`).toContain(name);
    }
    expect([...names].some((n) => n.startsWith('match '))).toBe(true);
    expect([...names].some((n) => n.startsWith('deliver '))).toBe(true);
    const act = trace.find((s) => s.name === 'action scale')!;
    expect(act.attributes['homeostat.outcome']).toBe('executed');
    expect(act.attributes['homeostat.action_id']).toBe(action.id);
  });
});
