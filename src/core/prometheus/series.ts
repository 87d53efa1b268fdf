/** @module Math over two scrapes of a Prometheus exposition: counter increases, gauges and histogram quantiles. */
import { type Exposition, type MetricFamily, type PrometheusSample, parseSampleValue, seriesId } from './parse.js';

/** An exposition indexed for lookups by sample name and by series. */
export interface ExpositionIndex {
  readonly exposition: Exposition;
  /** Samples by their own name. */
  readonly byName: ReadonlyMap<string, readonly PrometheusSample[]>;
  /** Families by name (declared by # TYPE / # HELP, or untyped by sample name). */
  readonly families: ReadonlyMap<string, MetricFamily>;
  /** Sample values by {@link seriesId}. */
  readonly values: ReadonlyMap<string, number>;
}

/** Indexes an exposition once, so each metric lookup is a map read. */
export function indexExposition(exposition: Exposition): ExpositionIndex {
  const byName = new Map<string, PrometheusSample[]>();
  const values = new Map<string, number>();
  for (const s of exposition.samples) {
    const list = byName.get(s.name);
    if (list === undefined) byName.set(s.name, [s]);
    else list.push(s);
    values.set(seriesId(s.name, s.labels), s.value);
  }
  const families = new Map(exposition.families.map((f) => [f.name, f]));
  return { exposition, byName, families, values };
}

/**
 * True when the exposition knows the name: it has samples of it, declares a family of it, or
 * declares a histogram or summary it belongs to (`x_count` of histogram `x` with no samples yet).
 */
export function isExposed(index: ExpositionIndex, name: string): boolean {
  if (index.byName.has(name) || index.families.has(name)) return true;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  const base = m ? index.families.get(m[1]!) : undefined;
  return base?.type === 'histogram' || (base?.type === 'summary' && m?.[2] !== 'bucket');
}

/** The samples named `name`, optionally only those `keep` accepts. */
export function samplesOf(
  index: ExpositionIndex,
  name: string,
  keep?: (s: PrometheusSample) => boolean,
): readonly PrometheusSample[] {
  const all = index.byName.get(name) ?? [];
  return keep === undefined ? all : all.filter(keep);
}

/**
 * How much one counter series grew since the previous scrape. A lower value is a reset (the
 * process restarted): the increase is the new value. A series absent before appeared after the
 * previous scrape, so it counts from zero. NaN counts as no increase.
 */
export function counterIncrease(prev: ExpositionIndex, sample: PrometheusSample): number {
  const cur = sample.value;
  if (!Number.isFinite(cur)) return 0;
  const before = prev.values.get(seriesId(sample.name, sample.labels));
  if (before === undefined || !Number.isFinite(before) || cur < before) return Math.max(0, cur);
  return cur - before;
}

/** The sum of the increases of every series named `name` that `keep` accepts. */
export function counterSum(
  prev: ExpositionIndex,
  cur: ExpositionIndex,
  name: string,
  keep?: (s: PrometheusSample) => boolean,
): number {
  let total = 0;
  for (const s of samplesOf(cur, name, keep)) total += counterIncrease(prev, s);
  return total;
}

/** The sum of the finite values of every series named `name`. */
export function gaugeSum(index: ExpositionIndex, name: string): number {
  let total = 0;
  for (const s of samplesOf(index, name)) if (Number.isFinite(s.value)) total += s.value;
  return total;
}

/** A cumulative histogram bucket: observations at or below `le`. */
export interface Bucket {
  readonly le: number;
  readonly count: number;
}

/**
 * The increase of each bucket of histogram `name` since the previous scrape, summed over every
 * series (all label sets) by `le`, sorted by `le` and made cumulative-monotonic (a reset in one
 * series could otherwise make a later bucket smaller than an earlier one).
 */
export function bucketIncreases(prev: ExpositionIndex, cur: ExpositionIndex, name: string): Bucket[] {
  const byLe = new Map<number, number>();
  for (const s of samplesOf(cur, `${name}_bucket`)) {
    const le = parseSampleValue(s.labels.le ?? '');
    if (le === undefined || Number.isNaN(le)) continue;
    byLe.set(le, (byLe.get(le) ?? 0) + counterIncrease(prev, s));
  }
  const buckets = [...byLe].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
  let max = 0;
  return buckets.map((b) => {
    max = Math.max(max, b.count);
    return { le: b.le, count: max };
  });
}

/**
 * The q-quantile (0 < q < 1) of cumulative buckets by linear interpolation inside the bucket that
 * holds the rank, as PromQL's histogram_quantile does: the first bucket starts at 0 (when its bound
 * is positive); a rank in the +Inf bucket answers the highest finite bound. Undefined when there
 * are no observations, no +Inf bucket or no finite bucket.
 */
export function histogramQuantile(q: number, buckets: readonly Bucket[]): number | undefined {
  const last = buckets[buckets.length - 1];
  if (buckets.length < 2 || last === undefined || last.le !== Number.POSITIVE_INFINITY || last.count <= 0) {
    return undefined;
  }
  const rank = q * last.count;
  const b = buckets.findIndex((x) => x.count >= rank);
  const hit = buckets[b]!;
  const below = buckets[b - 1];
  if (b === buckets.length - 1) return below?.le ?? 0;
  if (below === undefined && hit.le <= 0) return hit.le;
  const start = below?.le ?? 0;
  const inBucket = hit.count - (below?.count ?? 0);
  return start + (hit.le - start) * ((rank - (below?.count ?? 0)) / inBucket);
}

/**
 * The summary quantile closest to `q` for each series of summary `name`, the highest across
 * series (quantiles of different series cannot be merged; the highest is the conservative
 * choice). Undefined when the summary has no finite quantile.
 */
export function summaryQuantile(index: ExpositionIndex, name: string, q: number): number | undefined {
  const bySeries = new Map<string, { dist: number; value: number }>();
  for (const s of samplesOf(index, name)) {
    const quantile = parseSampleValue(s.labels.quantile ?? '');
    if (quantile === undefined || !Number.isFinite(s.value)) continue;
    const { quantile: _q, ...rest } = s.labels;
    const key = seriesId(name, rest);
    const dist = Math.abs(quantile - q);
    const best = bySeries.get(key);
    if (best === undefined || dist < best.dist) bySeries.set(key, { dist, value: s.value });
  }
  if (bySeries.size === 0) return undefined;
  return Math.max(...[...bySeries.values()].map((v) => v.value));
}

/** True when `name` is a summary (declared, or untyped samples carrying `quantile` labels). */
export function isSummary(index: ExpositionIndex, name: string): boolean {
  const f = index.families.get(name);
  if (f !== undefined && f.type !== 'untyped') return f.type === 'summary';
  return !index.byName.has(`${name}_bucket`) && samplesOf(index, name).some((s) => s.labels.quantile !== undefined);
}

/** True when `name` is a counter: declared so, or untyped and named `*_total`. */
export function isCounter(index: ExpositionIndex, name: string): boolean {
  const f = index.families.get(name);
  if (f !== undefined && f.type !== 'untyped') return f.type === 'counter';
  return name.endsWith('_total');
}
