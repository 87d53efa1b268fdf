/**
 * @module Load for the delivery benchmark: paced single-event ingest (open loop) with per-event
 * latency from the ingest acknowledgement to the receiver, and batched ingest as fast as delivery
 * keeps up for the sustained rate.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Pool } from 'undici';
import { type CpuShare, startCpuMeter } from '../ingest/cpu.js';
import { createLatencyRecorder, type LatencySummary } from '../ingest/latency.js';
import type { Receiver } from './receiver.js';

export const STRUCTURED = 'application/cloudevents+json';
export const BATCH = 'application/cloudevents-batch+json';
/** How long a scenario waits after its last send for the deliveries still under way. */
const DRAIN_MS = 10_000;

/** One `bench.deliver` CloudEvent as JSON text (about 230 bytes). */
export function eventText(prefix: string, i: number): string {
  return JSON.stringify({
    specversion: '1.0',
    id: `${prefix}-${i}`,
    source: `/bench/host-${i % 64}`,
    type: 'bench.deliver',
    subject: `group/web-${i % 8}`,
    datacontenttype: 'application/json',
    data: { instance: `i-${(i * 7919) % 100_000}`, cpu: i % 100, rps: (i * 31) % 5_000, status: 200 },
  });
}

export interface Timing {
  readonly warmupMs: number;
  readonly durationMs: number;
  /** The server's CPU seconds so far. */
  readonly serverCpuSeconds: () => number;
}

export interface PacedResult {
  readonly rate: number;
  /** Events per request. */
  readonly batch: number;
  /** Events due in the measured window, and how many of them were acknowledged and delivered. */
  readonly due: number;
  readonly acked: number;
  readonly delivered: number;
  /** Acknowledgements received inside the measured window, per second (below `rate`: ingest fell behind). */
  readonly ackedPerSec: number;
  /** Acknowledgement → arrival at the receiver, per event. */
  readonly e2e: LatencySummary;
  /** Due time → acknowledgement, per request (the ingest part, for context; includes client-side queueing). */
  readonly ingest: LatencySummary;
  /** Deliveries that arrived before the client had read the acknowledgement (counted as 0 ms). */
  readonly beforeAck: number;
  readonly failures: number;
  readonly firstFailure: string | undefined;
  readonly cpu: CpuShare | undefined;
  readonly clientLag: { readonly p99: number; readonly max: number };
}

interface Meter {
  stop(): { cpu: CpuShare | undefined; clientLag: { p99: number; max: number } };
}

/** CPU and client event-loop delay over the measured window, which starts after the warm-up. */
function startMeter(t: Timing): Meter {
  const lag = monitorEventLoopDelay({ resolution: 1 });
  let cpu: ReturnType<typeof startCpuMeter> | undefined;
  const timer = setTimeout(() => {
    cpu = startCpuMeter(t.serverCpuSeconds);
    lag.enable();
  }, t.warmupMs);
  return {
    stop() {
      clearTimeout(timer);
      lag.disable();
      return { cpu: cpu?.stop(), clientLag: { p99: lag.percentile(99) / 1e6, max: lag.max / 1e6 } };
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function postOne(pool: Pool, body: string, contentType = STRUCTURED): Promise<string | undefined> {
  try {
    const res = await pool.request({
      path: '/v1/events',
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
    });
    const text = await res.body.text();
    return res.statusCode === 201 || res.statusCode === 200 ? undefined : `${res.statusCode}: ${text.slice(0, 200)}`;
  } catch (err) {
    return `error: ${(err as { code?: string }).code ?? (err as Error).message}`;
  }
}

/** Waits until `done()` or `ms` pass. */
async function waitUntil(done: () => boolean, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (!done() && performance.now() < deadline) await sleep(10);
}

/** The paced scenario: `rate` events per second, `batch` events per request. */
export interface PacedOptions extends Timing {
  readonly rate: number;
  readonly batch: number;
}

/**
 * Open loop: request j (events j·batch to (j+1)·batch − 1) is due at start + j·batch / rate and is
 * sent then, whatever happened to earlier ones. Each acknowledgement time is kept; after the last
 * send it waits for the deliveries, then pairs each measured event's acknowledgement with its
 * arrival at the receiver.
 */
export async function runPaced(pool: Pool, receiver: Receiver, prefix: string, o: PacedOptions): Promise<PacedResult> {
  receiver.clear();
  const acks = new Map<string, number>();
  const ingest = createLatencyRecorder();
  const failures: string[] = [];
  const start = performance.now();
  const measureFrom = start + o.warmupMs;
  const until = measureFrom + o.durationMs;
  const meter = startMeter(o);
  const measured: string[] = [];
  const inFlight = new Set<Promise<void>>();
  let sent = 0;
  let ackedInWindow = 0;
  const send = (dueAt: number): void => {
    const ids: string[] = [];
    const texts: string[] = [];
    for (let i = 0; i < o.batch; i++, sent++) {
      ids.push(`${prefix}-${sent}`);
      texts.push(eventText(prefix, sent));
    }
    if (dueAt >= measureFrom) measured.push(...ids);
    const body = o.batch === 1 ? texts[0]! : `[${texts.join(',')}]`;
    const p = postOne(pool, body, o.batch === 1 ? STRUCTURED : BATCH).then((failure) => {
      const now = performance.now();
      inFlight.delete(p);
      if (failure !== undefined) return void failures.push(failure);
      for (const id of ids) acks.set(id, now);
      if (now >= measureFrom && now < until) ackedInWindow += ids.length;
      if (dueAt >= measureFrom) ingest.record(now - dueAt);
    });
    inFlight.add(p);
  };
  const dueOf = (n: number) => start + (n * 1000) / o.rate;
  for (let due = dueOf(0); due < until; due = dueOf(sent)) {
    const now = performance.now();
    for (; due <= now && due < until; due = dueOf(sent)) send(due);
    await sleep(Math.max(0, due - performance.now()));
  }
  const sys = meter.stop();
  await Promise.all(inFlight);
  const ackedIds = measured.filter((id) => acks.has(id));
  await waitUntil(() => ackedIds.every((id) => receiver.arrivals.has(id)), DRAIN_MS);
  const e2e = createLatencyRecorder();
  let beforeAck = 0;
  for (const id of ackedIds) {
    const arrived = receiver.arrivals.get(id);
    if (arrived === undefined) continue;
    const ms = arrived - acks.get(id)!;
    if (ms < 0) beforeAck++;
    e2e.record(Math.max(0, ms));
  }
  const e2eSummary = e2e.summary();
  return {
    rate: o.rate,
    batch: o.batch,
    due: measured.length,
    acked: ackedIds.length,
    delivered: e2eSummary.count,
    ackedPerSec: ackedInWindow / (o.durationMs / 1000),
    e2e: e2eSummary,
    ingest: ingest.summary(),
    beforeAck,
    failures: failures.length,
    firstFailure: failures[0],
    ...sys,
  };
}

export interface SustainedResult {
  readonly seconds: number;
  /** Deliveries that arrived at the receiver in the measured window, per second. */
  readonly deliveredPerSec: number;
  readonly ackedPerSec: number;
  /** Acknowledged but not yet delivered when the window ended. */
  readonly backlogAtEnd: number;
  readonly failures: number;
  readonly firstFailure: string | undefined;
  readonly cpu: CpuShare | undefined;
  readonly clientLag: { readonly p99: number; readonly max: number };
}

export interface SustainedOptions extends Timing {
  readonly batchSize: number;
  readonly connections: number;
  /** Ingest waits while this many acknowledged events are not yet delivered. */
  readonly maxLag: number;
}

/**
 * Closed loop: `connections` workers post batches as fast as they are acknowledged, but hold back
 * while more than `maxLag` events wait for delivery, so the figure is what the whole path sustains
 * (ingest → log → router → http → receiver), not how far ingest can run ahead of delivery.
 */
export async function runSustained(
  pool: Pool,
  receiver: Receiver,
  prefix: string,
  o: SustainedOptions,
): Promise<SustainedResult> {
  receiver.clear();
  const start = performance.now();
  const measureFrom = start + o.warmupMs;
  const until = measureFrom + o.durationMs;
  const meter = startMeter(o);
  const failures: string[] = [];
  let next = 0;
  let acked = 0;
  let ackedInWindow = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < until) {
      if (acked - receiver.arrivals.size > o.maxLag) {
        await sleep(2);
        continue;
      }
      const texts: string[] = [];
      for (let i = 0; i < o.batchSize; i++) texts.push(eventText(prefix, next++));
      const failure = await postOne(pool, `[${texts.join(',')}]`, BATCH);
      if (failure !== undefined) {
        failures.push(failure);
        await sleep(10);
        continue;
      }
      acked += o.batchSize;
      const now = performance.now();
      if (now >= measureFrom && now < until) ackedInWindow += o.batchSize;
    }
  };
  await Promise.all(Array.from({ length: o.connections }, worker));
  const sys = meter.stop();
  let delivered = 0;
  for (const at of receiver.arrivals.values()) if (at >= measureFrom && at < until) delivered++;
  const seconds = o.durationMs / 1000;
  return {
    seconds,
    deliveredPerSec: delivered / seconds,
    ackedPerSec: ackedInWindow / seconds,
    backlogAtEnd: acked - receiver.arrivals.size,
    failures: failures.length,
    firstFailure: failures[0],
    ...sys,
  };
}
