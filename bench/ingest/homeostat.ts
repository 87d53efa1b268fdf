/** @module Homeostat scenarios over HTTP: single events (closed and open loop) and batches. */
import { Pool } from 'undici';
import { createPoolCursor, type PoolCursor } from './cursor.js';
import { type LoadOptions, type OpOutcome, runClosedLoop, runOpenLoop, type ScenarioResult } from './drive.js';
import { createEventPool, type EventPool, eventAt, eventsFor } from './events.js';
import type { ServerProcess } from './server.js';

export const STRUCTURED = 'application/cloudevents+json';
export const BATCH = 'application/cloudevents-batch+json';

export interface HomeostatRunOptions extends LoadOptions {
  readonly server: ServerProcess;
}

export interface HomeostatResults {
  readonly single: ScenarioResult;
  /** The open-loop run at half the single-event rate; its target rate in events per second. */
  readonly halfRate: ScenarioResult;
  readonly halfRateTarget: number;
  readonly batch: ScenarioResult;
  /** Events the server acknowledged in all scenarios, and the count its log reports afterwards. */
  readonly acknowledged: number;
  readonly logCount: number | undefined;
  readonly peakRss: number | undefined;
}

/** Runs the three scenarios against one server; event ids never repeat within it. */
export async function runHomeostat(opts: HomeostatRunOptions): Promise<HomeostatResults> {
  const { server, log } = opts;
  const cpu = () => server.cpuSeconds();
  const timing = { warmupMs: opts.warmupMs, durationMs: opts.durationMs, serverCpuSeconds: cpu };
  const singlePool = createPool(server.url, opts.connections);
  const batchPool = createPool(server.url, opts.batchConnections);
  try {
    log(`homeostat: single events, ${opts.connections} connections, closed loop`);
    const single = await runClosedLoop({
      ...timing,
      workers: opts.connections,
      op: singleOp(singlePool, opts.singlePool),
    });

    const halfRateTarget = Math.max(1, Math.floor(single.eventsPerSec / 2));
    const halfEvents = createEventPool('h', eventsFor(halfRateTarget, (opts.warmupMs + opts.durationMs) / 1000), 100);
    log(`homeostat: single events at ${halfRateTarget}/s (half the measured rate), open loop`);
    const halfRate = await runOpenLoop({
      ...timing,
      rate: halfRateTarget,
      maxInFlight: 10_000,
      op: singleOp(singlePool, halfEvents),
    });

    log(`homeostat: batches of ${opts.batchPool.batchSize}, ${opts.batchConnections} connections, closed loop`);
    const batch = await runClosedLoop({
      ...timing,
      workers: opts.batchConnections,
      op: batchOp(batchPool, opts.batchPool),
    });

    const acknowledged = single.acknowledged + halfRate.acknowledged + batch.acknowledged;
    const logCount = await readLogCount(singlePool);
    return { single, halfRate, halfRateTarget, batch, acknowledged, logCount, peakRss: server.peakRss() };
  } finally {
    await Promise.all([singlePool.close(), batchPool.close()]);
  }
}

function createPool(url: string, connections: number): Pool {
  return new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 600_000 });
}

function singleOp(http: Pool, pool: EventPool) {
  const cursor: PoolCursor = createPoolCursor(pool);
  return (): Promise<OpOutcome> | undefined => {
    const n = cursor.take(1);
    return n === undefined ? undefined : post(http, STRUCTURED, eventAt(pool, n), 1);
  };
}

function batchOp(http: Pool, pool: EventPool) {
  const cursor = createPoolCursor(pool);
  return (): Promise<OpOutcome> | undefined => {
    const b = cursor.takeBatch();
    return b === undefined ? undefined : post(http, BATCH, pool.batches[b]!, pool.batchSize);
  };
}

/** One POST /v1/events: ok when 2xx and every event was accepted (a duplicate counts as a failure). */
async function post(http: Pool, contentType: string, body: Buffer, expected: number): Promise<OpOutcome> {
  const res = await http.request({
    path: '/v1/events',
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
  });
  const text = await res.body.text();
  if (res.statusCode === 429) return { ok: false, failure: '429 backpressure', detail: text.slice(0, 300) };
  if (res.statusCode < 200 || res.statusCode > 299) {
    return { ok: false, failure: `status ${res.statusCode}`, detail: text.slice(0, 300) };
  }
  const accepted = acceptedCount(text);
  if (accepted === expected) return { ok: true, events: accepted };
  return {
    ok: false,
    failure: `${res.statusCode} accepted ${accepted}/${expected}`,
    events: accepted ?? 0,
    detail: text.slice(0, 300),
  };
}

/** `accepted` from the response without parsing its `results` (a batch answer is ~10 KB). */
function acceptedCount(text: string): number | undefined {
  const match = /^\{\s*"accepted"\s*:\s*(\d+)/.exec(text);
  if (match) return Number(match[1]);
  try {
    const value = (JSON.parse(text) as { accepted?: unknown }).accepted;
    return typeof value === 'number' ? value : undefined;
  } catch {
    return undefined;
  }
}

async function readLogCount(http: Pool): Promise<number | undefined> {
  const res = await http.request({ path: '/v1/log', method: 'GET' });
  const body = (await res.body.json()) as { count?: unknown };
  return res.statusCode === 200 && typeof body.count === 'number' ? body.count : undefined;
}
