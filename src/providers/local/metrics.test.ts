import { describe, expect, it } from 'vitest';
import { createLatencyReservoir, createRequestMetrics, latencyPercentiles, percentile } from './metrics.js';

describe('percentile (nearest rank)', () => {
  it('picks the smallest value with at least p% of values at or below it', () => {
    const values = [15, 20, 35, 40, 50];
    expect(percentile(values, 5)).toBe(15);
    expect(percentile(values, 30)).toBe(20);
    expect(percentile(values, 40)).toBe(20);
    expect(percentile(values, 50)).toBe(35);
    expect(percentile(values, 100)).toBe(50);
  });

  it('gives p50, p95 and p99 of 1..100 as 50, 95 and 99', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(latencyPercentiles(values)).toEqual({ p50: 50, p95: 95, p99: 99 });
  });

  it('sorts numerically without changing its input', () => {
    const values = [100, 9, 20, 3, 1000, 7, 8, 2, 5, 4];
    expect(latencyPercentiles(values)).toEqual({ p50: 7, p95: 1000, p99: 1000 });
    expect(values).toEqual([100, 9, 20, 3, 1000, 7, 8, 2, 5, 4]);
  });

  it('answers 0 for no values and the value itself for one', () => {
    expect(latencyPercentiles([])).toEqual({ p50: 0, p95: 0, p99: 0 });
    expect(latencyPercentiles([4.5])).toEqual({ p50: 4.5, p95: 4.5, p99: 4.5 });
  });
});

describe('latency reservoir', () => {
  it('keeps every sample up to its cap, so percentiles are exact', () => {
    const reservoir = createLatencyReservoir(100);
    for (let i = 100; i >= 1; i--) reservoir.add(i);
    expect(reservoir.size).toBe(100);
    expect(reservoir.drain()).toEqual({ p50: 50, p95: 95, p99: 99 });
    expect(reservoir.size).toBe(0);
  });

  it('never holds more than its cap and keeps later samples in proportion', () => {
    let seed = 1;
    const random = (): number => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const reservoir = createLatencyReservoir(1000, random);
    for (let i = 0; i < 10_000; i++) reservoir.add(i < 5000 ? 1 : 2);
    expect(reservoir.size).toBe(1000);
    // Half the samples were 2: the median of a fair sample is on the boundary, p95 certainly 2.
    const { p95, p99 } = reservoir.drain();
    expect([p95, p99]).toEqual([2, 2]);
  });
});

describe('request metrics window', () => {
  it('counts requests, errors, targets and rate over the window, then starts a new one', () => {
    let now = 1_000;
    const metrics = createRequestMetrics({ now: () => now });
    for (let i = 0; i < 4; i++) metrics.begin();
    metrics.end({ latencyMs: 10, error: false, target: 'web-1' });
    metrics.end({ latencyMs: 20, error: false, target: 'web-2' });
    metrics.end({ latencyMs: 30, error: true, target: 'web-1' });
    now += 2_000;
    expect(metrics.take()).toEqual({
      rps: 1.5,
      inFlight: 1,
      latencyMs: { p50: 20, p95: 30, p99: 30 },
      errorRate: 1 / 3,
      requests: 3,
      errors: 1,
      perTarget: { 'web-1': 2, 'web-2': 1 },
    });
    metrics.end({ latencyMs: 5, error: true });
    now += 500;
    expect(metrics.take()).toEqual({
      rps: 2,
      inFlight: 0,
      latencyMs: { p50: 5, p95: 5, p99: 5 },
      errorRate: 1,
      requests: 1,
      errors: 1,
      perTarget: {},
    });
  });

  it('reports zeros for an empty or zero-length window', () => {
    const metrics = createRequestMetrics({ now: () => 42 });
    expect(metrics.take()).toEqual({
      rps: 0,
      inFlight: 0,
      latencyMs: { p50: 0, p95: 0, p99: 0 },
      errorRate: 0,
      requests: 0,
      errors: 0,
      perTarget: {},
    });
  });
});
