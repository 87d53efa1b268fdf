/** @module Latency samples and the summary every scenario reports. */

export interface LatencySummary {
  readonly count: number;
  /** Milliseconds. */
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface LatencyRecorder {
  record(ms: number): void;
  summary(): LatencySummary;
}

/** A growable array of latencies in milliseconds, summarised by exact percentiles (nearest rank). */
export function createLatencyRecorder(): LatencyRecorder {
  let samples = new Float64Array(1 << 16);
  let length = 0;
  return {
    record(ms) {
      if (length === samples.length) {
        const grown = new Float64Array(samples.length * 2);
        grown.set(samples);
        samples = grown;
      }
      samples[length++] = ms;
    },
    summary() {
      const sorted = samples.slice(0, length).sort();
      const at = (q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
      return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? Number.NaN };
    },
  };
}
