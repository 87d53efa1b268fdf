/** @module Latency samples and the summary every scenario reports. */

export interface LatencySummary {
  readonly count: number;
  /** Milliseconds. */
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** A growable array of latencies in milliseconds, summarised by exact percentiles. */
export class LatencyRecorder {
  private samples = new Float64Array(1 << 16);
  private length = 0;

  record(ms: number): void {
    if (this.length === this.samples.length) {
      const grown = new Float64Array(this.samples.length * 2);
      grown.set(this.samples);
      this.samples = grown;
    }
    this.samples[this.length++] = ms;
  }

  summary(): LatencySummary {
    const sorted = this.samples.slice(0, this.length).sort();
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
    return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? Number.NaN };
  }
}
