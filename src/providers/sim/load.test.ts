import { describe, expect, it } from 'vitest';
import { computeLoad, type LoadInput } from './load.js';
import { createRandom } from './random.js';

const base: LoadInput = {
  demandRps: 0,
  targets: 4,
  answering: 4,
  capacityRps: 100,
  serviceMs: 30,
  timeoutMs: 10_000,
};

describe('load model', () => {
  it('is idle without demand', () => {
    const r = computeLoad(base);
    expect(r).toMatchObject({ rps: 0, errorRate: 0, inFlight: 0, utilisation: 0, latencyMs: { p50: 0, p99: 0 } });
  });

  it('spreads demand evenly and reports utilisation per instance', () => {
    const r = computeLoad({ ...base, demandRps: 200 });
    expect(r.rpsPerTarget).toBe(50);
    expect(r.utilisation).toBe(0.5);
    expect(r.errorRate).toBe(0);
    expect(r.latencyMs.p50).toBeGreaterThanOrEqual(30);
  });

  it('raises latency as utilisation approaches 1, with p50 <= p95 <= p99', () => {
    let previous = 0;
    for (const demand of [40, 200, 320, 380, 396]) {
      const r = computeLoad({ ...base, demandRps: demand });
      expect(r.latencyMs.p50).toBeGreaterThan(previous);
      expect(r.latencyMs.p50).toBeLessThanOrEqual(r.latencyMs.p95);
      expect(r.latencyMs.p95).toBeLessThanOrEqual(r.latencyMs.p99);
      expect(r.errorRate).toBe(0);
      previous = r.latencyMs.p50;
    }
  });

  it('fails what exceeds capacity and pins the tail at the timeout', () => {
    const r = computeLoad({ ...base, demandRps: 800 });
    expect(r.utilisation).toBe(1);
    expect(r.servedRps).toBe(400);
    expect(r.errorRate).toBe(0.5);
    expect(r.latencyMs.p99).toBe(10_000);
  });

  it('times out the share of targets that stopped answering', () => {
    const r = computeLoad({ ...base, demandRps: 200, answering: 3 });
    expect(r.errorRate).toBe(0.25);
    expect(r.servedRps).toBe(150);
    expect(r.latencyMs.p99).toBe(10_000);
    expect(r.latencyMs.p50).toBeLessThan(10_000);
  });

  it('fails every request when there is no target', () => {
    const r = computeLoad({ ...base, demandRps: 50, targets: 0, answering: 0 });
    expect(r.errorRate).toBe(1);
    expect(r.servedRps).toBe(0);
  });

  it('never reports an error rate outside 0..1 or a latency above the timeout', () => {
    const random = createRandom('load-property');
    for (let i = 0; i < 2_000; i++) {
      const targets = random.int(20);
      const input: LoadInput = {
        demandRps: random.between(0, 5_000),
        targets,
        answering: random.int(targets + 1),
        capacityRps: random.between(1, 500),
        serviceMs: random.between(1, 100),
        timeoutMs: random.between(100, 30_000),
      };
      const r = computeLoad(input);
      expect(r.errorRate).toBeGreaterThanOrEqual(0);
      expect(r.errorRate).toBeLessThanOrEqual(1);
      expect(r.latencyMs.p99).toBeLessThanOrEqual(Math.round(input.timeoutMs * 10) / 10);
      expect(r.servedRps).toBeLessThanOrEqual(r.rps + 0.01);
    }
  });
});
