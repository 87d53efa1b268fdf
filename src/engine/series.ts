/**
 * @module Time series for the dashboard's plots (GET /v1/series), computed from the log on request:
 * load and capacity per instance group from `infra.metrics`, the automated decisions on each group
 * from `homeostat.action.*`, the cost rate from `cost.changed`, and consumer lag from a small
 * in-memory sampler (lag is not on the log). Every read is bounded: the newest events are read
 * first, and a series whose bound was reached says so in `truncated` (its oldest part is missing).
 *
 * Bucketing (by append time, `stepMs` wide, aligned to multiples of the step): `rps`, `latencyP50Ms`
 * and `cpu` (cores per instance) are averaged over the bucket's samples; `instances`, `capacityRps`,
 * `latencyP99Ms` and `errorRate` take the bucket's maximum, so a scale-out or an error burst inside
 * a bucket is not averaged away. The cost rate of a bucket is the highest rate in force during it;
 * lag takes the bucket's maximum per consumer.
 */
import type { Clock } from '../core/clock.js';
import type { CloudEvent } from '../core/event.js';
import type { EventLog, LogRecord, QueryOptions } from '../ports/event-log.js';
import { ACTION_OUTCOME_TYPES, recordFromEvent } from './automation/action-events.js';
import { CostEventType } from './finops/cost-events.js';

/** The default step gives at most this many points per series. */
export const SERIES_TARGET_POINTS = 300;
/** A step that gives more buckets than this is refused. */
export const SERIES_MAX_BUCKETS = 1_000;
/** At most this many events of each kind are read per request (newest first). */
export const SERIES_READ_LIMITS = { metrics: 20_000, decisions: 5_000, cost: 5_000 } as const;

const METRICS_TYPE = 'infra.metrics';
const GROUP_PREFIX = 'instancegroup/';
const PAGE = 1_000;
const NICE_STEPS_MS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 21_600, 43_200, 86_400].map(
  (s) => s * 1_000,
);

export interface SeriesQuery {
  /** Range start, ms since the epoch (aligned down to a multiple of the step). */
  readonly from: number;
  readonly to: number;
  readonly stepMs: number;
  /** Only these instance groups; default every group seen. */
  readonly groups?: readonly string[];
}

/** One bucket of one group; a value is null when no sample in the bucket carried it. */
export interface SeriesPoint {
  /** Bucket start, ms since the epoch. */
  readonly t: number;
  readonly rps: number | null;
  readonly instances: number | null;
  readonly latencyP50Ms: number | null;
  readonly latencyP99Ms: number | null;
  readonly errorRate: number | null;
  /** Average CPU per instance, in cores. */
  readonly cpu: number | null;
  /** Requests per second the routed instances can serve, when the provider knows it (sim). */
  readonly capacityRps?: number;
}

/** An automated action on a group (a scaling decision, a replacement, ...). */
export interface SeriesDecision {
  readonly t: number;
  readonly id: string;
  readonly action: string;
  readonly outcome: string;
  readonly from: number | null;
  readonly to: number | null;
  readonly policy: string;
  readonly reason: string;
  readonly why?: string;
}

export interface GroupSeries {
  readonly group: string;
  readonly points: readonly SeriesPoint[];
  readonly decisions: readonly SeriesDecision[];
}

export interface Series {
  readonly from: string;
  readonly to: string;
  readonly stepMs: number;
  readonly groups: readonly GroupSeries[];
  readonly cost: readonly { readonly t: number; readonly ratePerHour: number }[];
  readonly lag: readonly LagSample[];
  /** Series whose read bound was reached: their oldest part is left out. Empty when complete. */
  readonly truncated: readonly ('metrics' | 'decisions' | 'cost')[];
}

/** The smallest "round" step (1 s, 2 s, 5 s, ... 1 d) that covers `rangeMs` in at most `points` buckets. */
export function defaultStep(rangeMs: number, points = SERIES_TARGET_POINTS): number {
  const raw = Math.max(1, rangeMs) / points;
  return NICE_STEPS_MS.find((s) => s >= raw) ?? Math.ceil(raw / 86_400_000) * 86_400_000;
}

/** Buckets of one query: index of a time, and the start of an index. */
function bucketsOf(q: SeriesQuery): { count: number; index(t: number): number; start(i: number): number } {
  const count = Math.max(1, Math.ceil((q.to - q.from) / q.stepMs));
  return {
    count,
    index: (t) => Math.floor((t - q.from) / q.stepMs),
    start: (i) => q.from + i * q.stepMs,
  };
}

/** Reads matching records newest first, at most `max`; `full` is false when the bound was reached. */
async function readNewest(
  log: EventLog,
  filter: QueryOptions,
  max: number,
): Promise<{ records: LogRecord[]; full: boolean }> {
  const records: LogRecord[] = [];
  let after: number | undefined;
  while (records.length < max) {
    const limit = Math.min(PAGE, max - records.length);
    const page = await log.query({ ...filter, order: 'desc', limit, ...(after === undefined ? {} : { after }) });
    records.push(...page);
    if (page.length < limit) return { records, full: true };
    after = page[page.length - 1]!.offset;
  }
  const more = await log.query({ ...filter, order: 'desc', limit: 1, after: records[records.length - 1]!.offset });
  return { records, full: more.length === 0 };
}

type Data = Record<string, unknown>;
const dataOf = (e: CloudEvent): Data =>
  typeof e.data === 'object' && e.data !== null && !Array.isArray(e.data) ? (e.data as Data) : {};
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The group an `infra.metrics` event describes: `data.group`, else its `instancegroup/` subject. */
function groupOf(e: CloudEvent, d: Data): string | undefined {
  if (typeof d.group === 'string' && d.group !== '') return d.group;
  return e.subject?.startsWith(GROUP_PREFIX) ? e.subject.slice(GROUP_PREFIX.length) : undefined;
}

/** Sum, count and maximum of one field in one bucket. */
class Acc {
  sum = 0;
  n = 0;
  max = Number.NEGATIVE_INFINITY;
  add(v: number | undefined): void {
    if (v === undefined) return;
    this.sum += v;
    this.n += 1;
    if (v > this.max) this.max = v;
  }
  avg(digits = 1_000): number | null {
    return this.n === 0 ? null : Math.round((this.sum / this.n) * digits) / digits;
  }
  top(): number | null {
    return this.n === 0 ? null : this.max;
  }
}

const FIELDS = ['rps', 'instances', 'p50', 'p99', 'errorRate', 'cpu', 'capacity'] as const;
type Bucket = Record<(typeof FIELDS)[number], Acc>;

function addSample(b: Bucket, d: Data): void {
  const latency = (typeof d.latencyMs === 'object' && d.latencyMs !== null ? d.latencyMs : {}) as Data;
  const cpu = (typeof d.cpu === 'object' && d.cpu !== null ? d.cpu : {}) as Data;
  b.rps.add(num(d.rps));
  b.instances.add(num(d.instances));
  b.p50.add(num(latency.p50));
  b.p99.add(num(latency.p99));
  b.errorRate.add(num(d.errorRate));
  b.cpu.add(num(cpu.avg) ?? num(d.cpu));
  const perInstance = num(d.capacityRps);
  const routed = num(d.healthyInstances) ?? num(d.instances);
  if (perInstance !== undefined && routed !== undefined) b.capacity.add(perInstance * routed);
}

function pointOf(t: number, b: Bucket): SeriesPoint {
  const capacity = b.capacity.top();
  return {
    t,
    rps: b.rps.avg(),
    instances: b.instances.top(),
    latencyP50Ms: b.p50.avg(),
    latencyP99Ms: b.p99.top(),
    errorRate: b.errorRate.top(),
    cpu: b.cpu.avg(),
    ...(capacity === null ? {} : { capacityRps: Math.round(capacity * 1_000) / 1_000 }),
  };
}

async function metricSeries(
  log: EventLog,
  q: SeriesQuery,
): Promise<{ byGroup: Map<string, SeriesPoint[]>; full: boolean }> {
  const buckets = bucketsOf(q);
  const { records, full } = await readNewest(
    log,
    { types: [METRICS_TYPE], since: q.from, until: q.to },
    SERIES_READ_LIMITS.metrics,
  );
  const wanted = q.groups === undefined ? undefined : new Set(q.groups);
  const acc = new Map<string, Map<number, Bucket>>();
  for (const r of records) {
    const d = dataOf(r.event);
    const group = groupOf(r.event, d);
    const i = buckets.index(r.appendedAt);
    if (group === undefined || (wanted && !wanted.has(group)) || i < 0 || i >= buckets.count) continue;
    let byIndex = acc.get(group);
    if (!byIndex) acc.set(group, (byIndex = new Map()));
    let b = byIndex.get(i);
    if (!b) byIndex.set(i, (b = Object.fromEntries(FIELDS.map((f) => [f, new Acc()])) as Bucket));
    addSample(b, d);
  }
  const byGroup = new Map<string, SeriesPoint[]>();
  for (const [group, byIndex] of acc) {
    const points = [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([i, b]) => pointOf(buckets.start(i), b));
    byGroup.set(group, points);
  }
  return { byGroup, full };
}

async function decisionSeries(
  log: EventLog,
  q: SeriesQuery,
): Promise<{ byGroup: Map<string, SeriesDecision[]>; full: boolean }> {
  const { records, full } = await readNewest(
    log,
    { types: ACTION_OUTCOME_TYPES, since: q.from, until: q.to },
    SERIES_READ_LIMITS.decisions,
  );
  const wanted = q.groups === undefined ? undefined : new Set(q.groups);
  const byGroup = new Map<string, SeriesDecision[]>();
  for (const r of [...records].reverse()) {
    const rec = recordFromEvent(r.event);
    if (!rec) continue;
    const group =
      rec.group ?? (rec.resource.startsWith(GROUP_PREFIX) ? rec.resource.slice(GROUP_PREFIX.length) : undefined);
    if (group === undefined || (wanted && !wanted.has(group))) continue;
    const list = byGroup.get(group) ?? [];
    list.push({
      t: rec.at,
      id: rec.id,
      action: rec.action,
      outcome: rec.outcome,
      from: num(rec.params.from) ?? null,
      to: num(rec.params.to) ?? null,
      policy: rec.policy,
      reason: rec.reason,
      ...(rec.why === undefined ? {} : { why: rec.why }),
    });
    byGroup.set(group, list);
  }
  return { byGroup, full };
}

async function costSeries(
  log: EventLog,
  q: SeriesQuery,
): Promise<{ points: { t: number; ratePerHour: number }[]; full: boolean }> {
  const buckets = bucketsOf(q);
  const type = [CostEventType.changed];
  const before = await log.query({ types: type, until: q.from, order: 'desc', limit: 1 });
  const { records, full } = await readNewest(log, { types: type, since: q.from, until: q.to }, SERIES_READ_LIMITS.cost);
  const rateOf = (r: LogRecord | undefined): number | undefined => (r ? num(dataOf(r.event).ratePerHour) : undefined);
  let carry = full ? rateOf(before[0]) : undefined;
  const changes = [...records].reverse();
  const last = Math.min(buckets.count - 1, buckets.index(q.to));
  const points: { t: number; ratePerHour: number }[] = [];
  let k = 0;
  for (let i = 0; i <= last; i++) {
    let max = carry;
    while (k < changes.length && buckets.index(changes[k]!.appendedAt) <= i) {
      const rate = rateOf(changes[k]);
      if (rate !== undefined) {
        carry = rate;
        max = max === undefined ? rate : Math.max(max, rate);
      }
      k += 1;
    }
    if (max !== undefined) points.push({ t: buckets.start(i), ratePerHour: max });
  }
  return { points, full };
}

/** Computes every series of a query; `lag` is the sampler's (none without one). */
export async function computeSeries(log: EventLog, q: SeriesQuery, lag?: LagSampler): Promise<Series> {
  const [metrics, decisions, cost] = await Promise.all([
    metricSeries(log, q),
    decisionSeries(log, q),
    costSeries(log, q),
  ]);
  const names = [...new Set([...metrics.byGroup.keys(), ...decisions.byGroup.keys()])].sort();
  const truncated: Series['truncated'][number][] = [];
  if (!metrics.full) truncated.push('metrics');
  if (!decisions.full) truncated.push('decisions');
  if (!cost.full) truncated.push('cost');
  return {
    from: new Date(q.from).toISOString(),
    to: new Date(q.to).toISOString(),
    stepMs: q.stepMs,
    groups: names.map((group) => ({
      group,
      points: metrics.byGroup.get(group) ?? [],
      decisions: decisions.byGroup.get(group) ?? [],
    })),
    cost: cost.points,
    lag: lag ? bucketLag(lag.samples(q.from, q.to), q) : [],
    truncated,
  };
}

/** One consumer's lag at one time: events appended that it has not read yet. */
export interface LagSample {
  readonly t: number;
  readonly consumer: string;
  readonly lag: number;
}

function bucketLag(samples: readonly LagSample[], q: SeriesQuery): LagSample[] {
  const buckets = bucketsOf(q);
  const max = new Map<string, LagSample>();
  for (const s of samples) {
    const i = buckets.index(s.t);
    if (i < 0 || i >= buckets.count) continue;
    const key = `${s.consumer}\u0000${i}`;
    const seen = max.get(key);
    if (!seen || s.lag > seen.lag) max.set(key, { t: buckets.start(i), consumer: s.consumer, lag: s.lag });
  }
  return [...max.values()].sort((a, b) => a.t - b.t || a.consumer.localeCompare(b.consumer));
}

export interface LagSamplerOptions {
  readonly log: Pick<EventLog, 'stats'>;
  /** The next offset each consumer will read, by consumer name (e.g. the router's position). */
  readonly positions: () => Readonly<Record<string, number>>;
  readonly clock: Clock;
  /** Default 5 s. */
  readonly intervalMs?: number;
  /** How much history is kept. Default 1 h. */
  readonly keepMs?: number;
  readonly onError?: (err: unknown) => void;
}

/** Samples consumer lag into a bounded ring buffer (consumer lag is not on the log). */
export interface LagSampler {
  /** Takes one sample now. */
  sample(): Promise<void>;
  /** Samples with `from <= t < to`, oldest first. */
  samples(from: number, to: number): LagSample[];
  /** Samples every `intervalMs` (the timer does not keep the process alive). */
  start(): void;
  close(): void;
}

export function createLagSampler(o: LagSamplerOptions): LagSampler {
  const intervalMs = o.intervalMs ?? 5_000;
  const capacity = Math.max(1, Math.ceil((o.keepMs ?? 3_600_000) / intervalMs));
  const ring: { t: number; lags: Readonly<Record<string, number>> }[] = [];
  let head = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  const sampler: LagSampler = {
    async sample() {
      const next = (await o.log.stats()).nextOffset;
      const lags = Object.fromEntries(
        Object.entries(o.positions()).map(([consumer, position]) => [consumer, Math.max(0, next - position)]),
      );
      const entry = { t: o.clock.now(), lags };
      if (ring.length < capacity) ring.push(entry);
      else ring[head] = entry;
      head = (head + 1) % capacity;
    },
    samples(from, to) {
      const ordered = ring.length < capacity ? ring : [...ring.slice(head), ...ring.slice(0, head)];
      return ordered
        .filter((e) => e.t >= from && e.t < to)
        .flatMap((e) => Object.entries(e.lags).map(([consumer, lag]) => ({ t: e.t, consumer, lag })));
    },
    start() {
      if (timer) return;
      timer = setInterval(() => sampler.sample().catch((err: unknown) => o.onError?.(err)), intervalMs);
      timer.unref();
      sampler.sample().catch((err: unknown) => o.onError?.(err));
    },
    close() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
  return sampler;
}
