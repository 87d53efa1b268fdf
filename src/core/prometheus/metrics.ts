/** @module Maps two scrapes of a Prometheus exposition to a group's metrics (the data of an `infra.metrics` event). */
import type { PrometheusSample } from './parse.js';
import {
  type ExpositionIndex,
  bucketIncreases,
  counterIncrease,
  counterSum,
  gaugeSum,
  histogramQuantile,
  isCounter,
  isExposed,
  isSummary,
  samplesOf,
  summaryQuantile,
} from './series.js';

export type LatencyUnit = 'seconds' | 'milliseconds';

/** Which exposed metrics feed which field; every key is optional. */
export interface MetricsMapping {
  /** A counter of requests (all its series summed): `requests` and `rps`. */
  readonly requests?: string;
  /** A counter of failed requests; with `label` and `match`, only series whose label matches. */
  readonly errors?: { readonly metric: string; readonly label?: string; readonly match?: string };
  /** A histogram (or summary) of request durations: `latencyMs`. */
  readonly latency?: { readonly metric: string; readonly unit: LatencyUnit };
  /** A gauge of requests in progress (series summed). */
  readonly inFlight?: string;
  /** CPU in cores: a counter of CPU seconds (its rate) or a gauge of cores, per series. */
  readonly cpu?: string;
  /** A gauge of resident memory in bytes, per series. */
  readonly memory?: string;
  /** A gauge of the instance count (series summed). */
  readonly instances?: string;
}

/** The mapping keys, as named in `missing`. */
export type MappingKey = keyof MetricsMapping;

/** A sample as carried in the event: non-finite values as the strings Prometheus writes. */
export interface RawSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number | 'NaN' | '+Inf' | '-Inf';
  readonly timestampMs?: number;
}

export interface PerInstance {
  readonly avg: number;
  readonly perInstance: Readonly<Record<string, number>>;
}

/** A group's metrics over one scrape window; a field is absent when its metric is not mapped or not exposed. */
export interface ScrapedMetrics {
  readonly group: string;
  readonly rps?: number;
  readonly requests?: number;
  readonly errors?: number;
  readonly errorRate?: number;
  readonly inFlight?: number;
  readonly latencyMs?: { readonly p50: number; readonly p95: number; readonly p99: number };
  readonly instances?: number;
  readonly cpu?: PerInstance;
  readonly memoryMiB?: PerInstance;
  /** Milliseconds between the two scrapes the rates are computed over. */
  readonly windowMs: number;
  /** Mapped keys whose metric the target does not expose (misspelt, or not exported yet). */
  readonly missing: readonly MappingKey[];
  /** The samples of the mapped metrics, in exposition order, at most `maxSamples`. */
  readonly samples: readonly RawSample[];
  /** How many samples were left out past `maxSamples` (absent when none). */
  readonly samplesOmitted?: number;
}

/** Two indexed scrapes: the rates are over `windowMs`, from `prev` to `cur`. */
export interface ScrapeWindow {
  readonly prev: ExpositionIndex;
  readonly cur: ExpositionIndex;
  readonly windowMs: number;
}

export interface MapScrapeOptions {
  readonly group: string;
  /** The key of a series without labels in `perInstance` (the source's name). */
  readonly instanceName: string;
  /** Default {@link DEFAULT_MAX_SAMPLES}. */
  readonly maxSamples?: number;
}

/** Raw samples carried per event, so events stay far below the ingest size limit. */
export const DEFAULT_MAX_SAMPLES = 500;
const MIB = 1_048_576;

type Fields = { -readonly [K in keyof ScrapedMetrics]?: ScrapedMetrics[K] };

interface Context {
  readonly mapping: MetricsMapping;
  readonly w: ScrapeWindow;
  readonly seconds: number;
  readonly missing: MappingKey[];
  readonly instanceName: string;
}

/** True when `name` is exposed; otherwise records `key` as missing. */
function exposed(ctx: Context, key: MappingKey, name: string): boolean {
  if (isExposed(ctx.w.cur, name)) return true;
  ctx.missing.push(key);
  return false;
}

function requestFields(ctx: Context): Fields {
  const { requests, errors } = ctx.mapping;
  const out: Fields = {};
  if (requests !== undefined && exposed(ctx, 'requests', requests)) {
    const n = counterSum(ctx.w.prev, ctx.w.cur, requests);
    Object.assign(out, { requests: n, rps: ctx.seconds > 0 ? n / ctx.seconds : 0 });
  }
  if (errors !== undefined && exposed(ctx, 'errors', errors.metric)) {
    const re = errors.label === undefined ? undefined : new RegExp(errors.match ?? '');
    const label = errors.label ?? '';
    const keep = re === undefined ? undefined : (s: PrometheusSample) => re.test(s.labels[label] ?? '');
    const n = counterSum(ctx.w.prev, ctx.w.cur, errors.metric, keep);
    out.errors = n;
    if (typeof out.requests === 'number') out.errorRate = out.requests > 0 ? n / out.requests : 0;
  }
  return out;
}

function latencyFields(ctx: Context): Fields {
  const latency = ctx.mapping.latency;
  if (latency === undefined) return {};
  const factor = latency.unit === 'seconds' ? 1000 : 1;
  const { cur, prev } = ctx.w;
  let quantile: (q: number) => number | undefined;
  if (isSummary(cur, latency.metric)) {
    quantile = (q) => summaryQuantile(cur, latency.metric, q);
  } else if (exposed(ctx, 'latency', `${latency.metric}_bucket`)) {
    const buckets = bucketIncreases(prev, cur, latency.metric);
    const top = buckets[buckets.length - 1];
    if (top !== undefined && top.le !== Number.POSITIVE_INFINITY) {
      ctx.missing.push('latency'); // a histogram without its +Inf bucket is malformed
      return {};
    }
    quantile = (q) => histogramQuantile(q, buckets);
  } else {
    return {};
  }
  // No observations in the window: 0, as the local provider reports an idle group.
  const ms = (q: number) => (quantile(q) ?? 0) * factor;
  return { latencyMs: { p50: ms(0.5), p95: ms(0.95), p99: ms(0.99) } };
}

function gaugeFields(ctx: Context): Fields {
  const out: Fields = {};
  const { inFlight, instances } = ctx.mapping;
  if (inFlight !== undefined && exposed(ctx, 'inFlight', inFlight)) out.inFlight = gaugeSum(ctx.w.cur, inFlight);
  if (instances !== undefined && exposed(ctx, 'instances', instances)) {
    out.instances = gaugeSum(ctx.w.cur, instances);
  }
  return out;
}

/** A series' key in `perInstance`: its `instance` label, else its labels, else the source's name. */
export function instanceKey(labels: Readonly<Record<string, string>>, fallback: string): string {
  if (labels.instance !== undefined) return labels.instance;
  const keys = Object.keys(labels).sort();
  return keys.length === 0 ? fallback : keys.map((k) => `${k}=${labels[k]}`).join(',');
}

function perInstance(ctx: Context, name: string, value: (s: PrometheusSample) => number): PerInstance {
  const per: Record<string, number> = {};
  for (const s of samplesOf(ctx.w.cur, name)) {
    const v = value(s);
    if (!Number.isFinite(v)) continue;
    const key = instanceKey(s.labels, ctx.instanceName);
    per[key] = (per[key] ?? 0) + v;
  }
  const values = Object.values(per);
  const avg = values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
  return { avg, perInstance: per };
}

function resourceFields(ctx: Context): Fields {
  const out: Fields = {};
  const { cpu, memory } = ctx.mapping;
  if (cpu !== undefined && exposed(ctx, 'cpu', cpu)) {
    const rate = isCounter(ctx.w.cur, cpu);
    const seconds = ctx.seconds;
    out.cpu = perInstance(ctx, cpu, (s) =>
      rate ? (seconds > 0 ? counterIncrease(ctx.w.prev, s) / seconds : 0) : s.value,
    );
  }
  if (memory !== undefined && exposed(ctx, 'memory', memory)) {
    out.memoryMiB = perInstance(ctx, memory, (s) => s.value / MIB);
  }
  return out;
}

/** Every sample name the mapping refers to (a histogram's _bucket, _sum and _count included). */
export function mappedNames(mapping: MetricsMapping): Set<string> {
  const names = new Set<string>();
  for (const n of [mapping.requests, mapping.inFlight, mapping.cpu, mapping.memory, mapping.instances]) {
    if (n !== undefined) names.add(n);
  }
  if (mapping.errors !== undefined) names.add(mapping.errors.metric);
  const l = mapping.latency?.metric;
  if (l !== undefined) for (const suffix of ['', '_bucket', '_sum', '_count']) names.add(l + suffix);
  return names;
}

function rawValue(v: number): RawSample['value'] {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return v;
}

function rawSamples(ctx: Context, max: number): { samples: RawSample[]; samplesOmitted?: number } {
  const names = mappedNames(ctx.mapping);
  const picked = ctx.w.cur.exposition.samples.filter((s) => names.has(s.name));
  const samples = picked.slice(0, max).map(({ name, labels, value, timestampMs }) => {
    const raw: RawSample = { name, labels, value: rawValue(value) };
    return timestampMs === undefined ? raw : { ...raw, timestampMs };
  });
  return picked.length > max ? { samples, samplesOmitted: picked.length - max } : { samples };
}

/**
 * The group's metrics over a scrape window: counters as increases and rates, histograms as
 * p50/p95/p99 of the window's observations (milliseconds), gauges as read.
 */
export function mapScrape(mapping: MetricsMapping, w: ScrapeWindow, options: MapScrapeOptions): ScrapedMetrics {
  const ctx: Context = { mapping, w, seconds: w.windowMs / 1000, missing: [], instanceName: options.instanceName };
  const fields = {
    ...requestFields(ctx),
    ...gaugeFields(ctx),
    ...latencyFields(ctx),
    ...resourceFields(ctx),
  };
  const raw = rawSamples(ctx, options.maxSamples ?? DEFAULT_MAX_SAMPLES);
  return { group: options.group, ...fields, windowMs: w.windowMs, missing: ctx.missing, ...raw };
}
