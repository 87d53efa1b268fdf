import { describe, expect, it } from 'vitest';
import { type AnomalyOptions, type BaselineState, baselineAt, observeRate } from './anomaly.js';

const H = 3_600_000;
const opts: AnomalyOptions = { halfLifeMs: H, factor: 2, floorPerHour: 0.5, warmupMs: 0 };

/** Feeds [time, rate] steps; returns the times at which an anomaly fired. */
function anomaliesAt(steps: readonly (readonly [number, number])[], options = opts): number[] {
  let state: BaselineState | undefined;
  const fired: number[] = [];
  for (const [t, rate] of steps) {
    const r = observeRate(state, rate, t, options);
    state = r.state;
    if (r.anomaly) fired.push(t);
  }
  return fired;
}

describe('baselineAt', () => {
  it('moves halfway to the rate in force per half-life', () => {
    const s: BaselineState = { baseline: 0, rate: 4, at: 0, since: 0, active: false };
    expect(baselineAt(s, H, H)).toBeCloseTo(2);
    expect(baselineAt(s, 2 * H, H)).toBeCloseTo(3);
  });
});

describe('observeRate', () => {
  it('reports a jump to at least factor × baseline and floor above it, with the arithmetic', () => {
    const first = observeRate(undefined, 1, 0, opts);
    const jump = observeRate(first.state, 3, 10 * H, opts);
    expect(jump.anomaly).toEqual({ ratePerHour: 3, baselinePerHour: 1, factor: 3, jumpPerHour: 2 });
  });

  it('does not report a relative jump smaller than the absolute floor', () => {
    expect(
      anomaliesAt([
        [0, 0.02],
        [H, 0.2],
      ]),
    ).toEqual([]);
  });

  it('does not report a rise the baseline has had time to follow', () => {
    expect(
      anomaliesAt([
        [0, 1],
        [10 * H, 1.5],
        [20 * H, 2.2],
        [30 * H, 3],
      ]),
    ).toEqual([]);
  });

  it('reports once per episode and again after the rate came back down', () => {
    const steps: [number, number][] = [
      [0, 1],
      [10 * H, 3],
      [10 * H + 1000, 4],
      [10 * H + 2000, 1],
      [30 * H, 1],
      [40 * H, 5],
    ];
    expect(anomaliesAt(steps)).toEqual([10 * H, 40 * H]);
  });

  it('stays quiet during the warm-up', () => {
    expect(
      anomaliesAt(
        [
          [0, 1],
          [H, 5],
        ],
        { ...opts, warmupMs: 2 * H },
      ),
    ).toEqual([]);
    expect(
      anomaliesAt(
        [
          [0, 1],
          [3 * H, 5],
        ],
        { ...opts, warmupMs: 2 * H },
      ),
    ).toEqual([3 * H]);
  });
});
