import { describe, expect, it } from 'vitest';
import { hasCode } from '../../core/errors.js';
import { resolveDemandCurve } from './demand.js';
import { createRandom } from './random.js';

const MIN = 60_000;
const HOUR = 3_600_000;

function problemsOf(input: unknown): { pointer: string; message: string }[] {
  try {
    resolveDemandCurve(input, '/demand');
  } catch (err) {
    if (hasCode(err, 'E_INVALID')) return [...err.problems];
    throw err;
  }
  throw new Error('expected E_INVALID');
}

describe('demand curves', () => {
  it('reads a plain number as a constant rate', () => {
    const curve = resolveDemandCurve(120);
    expect(curve.kind).toBe('constant');
    expect([0, HOUR, 24 * HOUR].map((t) => curve.rpsAt(t))).toEqual([120, 120, 120]);
  });

  it('steps to each new rate at its time', () => {
    const curve = resolveDemandCurve({
      kind: 'step',
      rps: 10,
      steps: [
        { at: '5m', rps: 50 },
        { at: '10m', rps: 20 },
      ],
    });
    expect([0, 5 * MIN - 1, 5 * MIN, 9 * MIN, 10 * MIN, 20 * MIN].map((t) => curve.rpsAt(t))).toEqual([
      10, 10, 50, 50, 20, 20,
    ]);
  });

  it('follows a sine between base - amplitude and base + amplitude, peaking at peakAt', () => {
    const curve = resolveDemandCurve({ kind: 'sine', base: 100, amplitude: 50, period: '1h', peakAt: '15m' });
    expect(curve.rpsAt(15 * MIN)).toBeCloseTo(150);
    expect(curve.rpsAt(45 * MIN)).toBeCloseTo(50);
    expect(curve.rpsAt(75 * MIN)).toBeCloseTo(150);
  });

  it('makes a diurnal curve peak at 14h by default and bottom out 12 hours away', () => {
    const curve = resolveDemandCurve({ kind: 'diurnal', min: 200, max: 1_000 });
    expect(curve.rpsAt(14 * HOUR)).toBeCloseTo(1_000);
    expect(curve.rpsAt(2 * HOUR)).toBeCloseTo(200);
    expect(curve.rpsAt(38 * HOUR)).toBeCloseTo(1_000);
  });

  it('ramps a spike up, holds it and ramps it down', () => {
    const curve = resolveDemandCurve({ kind: 'spike', base: 100, peak: 1_100, at: '10m', duration: '5m', ramp: '1m' });
    expect(curve.rpsAt(8 * MIN)).toBe(100);
    expect(curve.rpsAt(9.5 * MIN)).toBeCloseTo(600);
    expect(curve.rpsAt(12 * MIN)).toBe(1_100);
    expect(curve.rpsAt(15.5 * MIN)).toBeCloseTo(600);
    expect(curve.rpsAt(17 * MIN)).toBe(100);
  });

  it('interpolates between points, holding the ends', () => {
    const points = [
      { at: '1m', rps: 100 },
      { at: '3m', rps: 300 },
    ];
    const linear = resolveDemandCurve({ kind: 'points', points });
    expect([0, MIN, 2 * MIN, 3 * MIN, HOUR].map((t) => linear.rpsAt(t))).toEqual([100, 100, 200, 300, 300]);
    const step = resolveDemandCurve({ kind: 'points', points, interpolation: 'step' });
    expect(step.rpsAt(2 * MIN)).toBe(100);
  });

  it('never goes below zero', () => {
    const curve = resolveDemandCurve({ kind: 'sine', base: 10, amplitude: 50, period: '1h' });
    expect(curve.rpsAt(45 * MIN)).toBe(0);
  });

  it('reports every bad field with its pointer', () => {
    expect(problemsOf({ kind: 'sine', base: -1, amplitude: 'x', period: '1 fortnight', extra: 1 })).toEqual([
      { pointer: '/demand/extra', message: 'unknown field; allowed: kind, base, amplitude, period, peakAt, noise' },
      { pointer: '/demand/base', message: '-1: expected a number >= 0' },
      { pointer: '/demand/amplitude', message: '"x": expected a number >= 0' },
      { pointer: '/demand/period', message: `"1 fortnight": expected a duration such as '30s' or a number of ms` },
      { pointer: '/demand/period', message: 'must be longer than 0' },
    ]);
  });

  it('names the allowed kinds and rejects points out of time order', () => {
    expect(problemsOf({ kind: 'wave' })[0]?.message).toBe(
      '"wave": expected one of constant, step, sine, diurnal, spike, points',
    );
    const problems = problemsOf({
      kind: 'points',
      points: [
        { at: '2m', rps: 1 },
        { at: '1m', rps: 2 },
      ],
    });
    expect(problems).toEqual([{ pointer: '/demand/points/1/at', message: 'points must be in increasing time order' }]);
  });

  it('draws the same noise sequence from the same seed', () => {
    const curve = resolveDemandCurve({ kind: 'constant', rps: 100, noise: 0.1 });
    expect(curve.noise).toBe(0.1);
    const draw = (seed: number) => {
      const r = createRandom(seed).fork('demand:web');
      return Array.from({ length: 5 }, () => r.normal());
    };
    expect(draw(3)).toEqual(draw(3));
    expect(draw(3)).not.toEqual(draw(4));
  });
});
