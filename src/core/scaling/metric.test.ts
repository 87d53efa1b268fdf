import { describe, expect, it } from 'vitest';
import { isActive, readMetric } from './metric.js';
import { parseScalingPolicy } from './parse.js';
import type { MetricSpec } from './types.js';

function metric(m: Record<string, unknown>): MetricSpec {
  return parseScalingPolicy({
    apiVersion: 'homeostat/v1',
    kind: 'ScalingPolicy',
    metadata: { name: 'web' },
    spec: { target: 'group/web', metric: { target: 1, ...m } },
  }).metric;
}

const event = (data: Record<string, unknown>) => ({ id: 'e1', type: 'infra.metrics', data });

describe('readMetric', () => {
  it('reads a field as it is', () => {
    expect(readMetric(metric({ field: 'data.cpu.avg' }), event({ cpu: { avg: 0.75 }, instances: 3 }))).toEqual({
      ok: true,
      value: 0.75,
      instances: 3,
    });
  });

  it('reads a per-instance field the event carries as it is (sim reports rpsPerInstance)', () => {
    const r = readMetric(
      metric({ field: 'data.rpsPerInstance' }),
      event({ rps: 900, rpsPerInstance: 450, instances: 3 }),
    );
    expect(r).toEqual({ ok: true, value: 450, instances: 3 });
  });

  it('derives <x>PerInstance as <x> / instances when the event lacks it (local reports rps only)', () => {
    const r = readMetric(metric({ field: 'data.rpsPerInstance' }), event({ rps: 900, instances: 3 }));
    expect(r).toEqual({ ok: true, value: 300, instances: 3, total: 900, derived: 'data.rps / data.instances' });
  });

  it('divides by the instances with perInstance: true', () => {
    const r = readMetric(metric({ field: 'data.inFlight', perInstance: true }), event({ inFlight: 10, instances: 4 }));
    expect(r).toEqual({ ok: true, value: 2.5, instances: 4, total: 10, derived: 'data.inFlight / data.instances' });
  });

  it('divides by another count field when told', () => {
    const m = metric({ field: 'data.rps', perInstance: true, instancesField: 'data.healthyInstances' });
    expect(readMetric(m, event({ rps: 100, instances: 5, healthyInstances: 2 }))).toMatchObject({
      value: 50,
      instances: 2,
    });
  });

  it('keeps the total when there are no instances to divide by', () => {
    const r = readMetric(metric({ field: 'data.rps', perInstance: true }), event({ rps: 40, instances: 0 }));
    expect(r).toEqual({
      ok: false,
      total: 40,
      instances: 0,
      why: 'data.instances is 0: no instances to divide data.rps by',
    });
  });

  it('says why when the count is missing', () => {
    const r = readMetric(metric({ field: 'data.rps', perInstance: true }), event({ rps: 40 }));
    expect(r).toMatchObject({
      ok: false,
      total: 40,
      why: expect.stringMatching(/data.instances is missing/) as unknown,
    });
  });

  it('says why when the field is missing or not a number', () => {
    expect(readMetric(metric({ field: 'data.cpu.avg' }), event({ instances: 1 }))).toEqual({
      ok: false,
      instances: 1,
      why: "$.data has no 'cpu'",
    });
    expect(readMetric(metric({ field: 'data.rps' }), event({ rps: 'lots' }))).toEqual({
      ok: false,
      why: '$.data.rps is "lots", not a finite number',
    });
    expect(readMetric(metric({ field: 'data.rpsPerInstance' }), event({ instances: 2 }))).toMatchObject({ ok: false });
  });

  it('ignores a negative instance count', () => {
    expect(readMetric(metric({ field: 'data.x' }), event({ x: 1, instances: -1 }))).toEqual({ ok: true, value: 1 });
  });
});

describe('isActive', () => {
  const activity = [
    { field: 'data.rps', path: ['data', 'rps'] },
    { field: 'data.inFlight', path: ['data', 'inFlight'] },
  ];

  it('is true when any activity field is above zero', () => {
    expect(isActive(activity, event({ rps: 0, inFlight: 1 }))).toBe(true);
    expect(isActive(activity, event({ rps: 0.1 }))).toBe(true);
  });

  it('is false when all are zero or missing', () => {
    expect(isActive(activity, event({ rps: 0, inFlight: 0 }))).toBe(false);
    expect(isActive(activity, event({}))).toBe(false);
  });
});
