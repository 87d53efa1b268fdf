/** @module Request metrics for the local load balancer: windowed counts, rates and latency percentiles. */

/** Latency percentiles in milliseconds. */
export interface LatencyPercentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

/** What one window of traffic looked like (see {@link RequestMetrics.take}). */
export interface MetricsSnapshot {
  /** Requests completed per second over the window. */
  readonly rps: number;
  /** Requests started and not yet completed, at the moment of the snapshot. */
  readonly inFlight: number;
  readonly latencyMs: LatencyPercentiles;
  /** errors / requests; 0 when there were no requests. */
  readonly errorRate: number;
  /** Requests completed in the window. */
  readonly requests: number;
  /** Completed requests that ended in a 5xx or failed mid-response. */
  readonly errors: number;
  /** Completed requests per target name, by the last target tried (403s and 503s have none). */
  readonly perTarget: Record<string, number>;
}

/** One completed request. */
export interface RequestSample {
  /** From the request's arrival to the end of its response. */
  readonly latencyMs: number;
  readonly error: boolean;
  /** The last target it was sent to; undefined when it reached none. */
  readonly target?: string;
}

/** The default cap on latency samples kept per window. */
export const DEFAULT_MAX_SAMPLES = 65_536;

/**
 * The `p`-th percentile (0 < p <= 100) of ascending `sorted` values by the nearest-rank method: the
 * smallest value with at least p% of the values at or below it. 0 for no values.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** p50, p95 and p99 of `values` (any order; not modified). */
export function latencyPercentiles(values: readonly number[]): LatencyPercentiles {
  const sorted = Float64Array.from(values).sort();
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
}

/** Latency samples with bounded memory; see {@link createLatencyReservoir}. */
export interface LatencyReservoir {
  /** Records one latency. */
  add(value: number): void;
  /** How many samples are kept now (at most the cap). */
  readonly size: number;
  /** The percentiles of what was recorded, then empties the reservoir. */
  drain(): LatencyPercentiles;
}

/**
 * Keeps every sample up to `max`, then a uniform random sample of `max` of them (reservoir
 * sampling), so percentiles are exact for small windows and unbiased estimates for large ones.
 */
export function createLatencyReservoir(
  max: number = DEFAULT_MAX_SAMPLES,
  random: () => number = Math.random,
): LatencyReservoir {
  let samples: number[] = [];
  let seen = 0;
  return {
    add(value) {
      seen++;
      if (samples.length < max) {
        samples.push(value);
        return;
      }
      const slot = Math.floor(random() * seen);
      if (slot < max) samples[slot] = value;
    },
    get size() {
      return samples.length;
    },
    drain() {
      const result = latencyPercentiles(samples);
      samples = [];
      seen = 0;
      return result;
    },
  };
}

/** Options for {@link createRequestMetrics}. */
export interface RequestMetricsOptions {
  /** A monotonic clock in milliseconds (default `performance.now`). */
  readonly now?: () => number;
  /** Latency samples kept per window (default {@link DEFAULT_MAX_SAMPLES}). */
  readonly maxSamples?: number;
  /** Random source for the latency reservoir (default Math.random). */
  readonly random?: () => number;
}

/**
 * Counts requests in windows: `begin` when a request arrives, `end` when its response ends,
 * `take` to read the window and start the next one.
 */
export interface RequestMetrics {
  /** A request arrived. */
  begin(): void;
  /** A request that `begin` counted has completed (successfully or not). */
  end(sample: RequestSample): void;
  /** The window since the previous `take` (or creation); starts a new window. */
  take(): MetricsSnapshot;
}

/** A {@link RequestMetrics} whose first window starts now. */
export function createRequestMetrics(options: RequestMetricsOptions = {}): RequestMetrics {
  const now = options.now ?? (() => performance.now());
  const latencies = createLatencyReservoir(options.maxSamples, options.random);
  let windowStart = now();
  let inFlight = 0;
  let requests = 0;
  let errors = 0;
  let perTarget = new Map<string, number>();
  return {
    begin() {
      inFlight++;
    },
    end(sample) {
      inFlight--;
      requests++;
      if (sample.error) errors++;
      latencies.add(sample.latencyMs);
      if (sample.target !== undefined) perTarget.set(sample.target, (perTarget.get(sample.target) ?? 0) + 1);
    },
    take() {
      const at = now();
      const seconds = (at - windowStart) / 1000;
      const snapshot: MetricsSnapshot = {
        rps: seconds > 0 ? requests / seconds : 0,
        inFlight,
        latencyMs: latencies.drain(),
        errorRate: requests > 0 ? errors / requests : 0,
        requests,
        errors,
        perTarget: Object.fromEntries(perTarget),
      };
      windowStart = at;
      requests = 0;
      errors = 0;
      perTarget = new Map();
      return snapshot;
    },
  };
}
