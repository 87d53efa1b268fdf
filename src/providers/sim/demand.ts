/** @module Demand curves: requests per second offered to a group as a function of simulated time. */
import { invalid, type Problem } from '../../core/errors.js';
import { isRecord, Reader } from './read.js';

/**
 * A demand curve as written by a user. Times (`at`, `period`, `duration`, ...) are durations
 * ('90s', '10m') or ms, counted from the start of the simulation. A plain number is a constant.
 * `noise` (default 0) is the relative standard deviation of random variation around the curve.
 */
export type DemandCurveInput =
  | number
  | { readonly kind: 'constant'; readonly rps: number; readonly noise?: number }
  | {
      readonly kind: 'step';
      readonly rps: number;
      readonly steps: readonly { readonly at: string | number; readonly rps: number }[];
      readonly noise?: number;
    }
  | {
      readonly kind: 'sine';
      readonly base: number;
      readonly amplitude: number;
      readonly period: string | number;
      /** When the first peak is; default a quarter period. */
      readonly peakAt?: string | number;
      readonly noise?: number;
    }
  | {
      /** A 24 h sine between `min` and `max`, peaking at `peakAt` (default 14h). */
      readonly kind: 'diurnal';
      readonly min: number;
      readonly max: number;
      readonly peakAt?: string | number;
      readonly noise?: number;
    }
  | {
      /** `base`, ramping linearly to `peak` at `at` over `ramp`, held for `duration`, ramping back. */
      readonly kind: 'spike';
      readonly base: number;
      readonly peak: number;
      readonly at: string | number;
      readonly duration: string | number;
      readonly ramp?: string | number;
      readonly noise?: number;
    }
  | {
      /** Through the given points; constant before the first and after the last. */
      readonly kind: 'points';
      readonly points: readonly { readonly at: string | number; readonly rps: number }[];
      /** Default 'linear'; 'step' holds each point's value until the next. */
      readonly interpolation?: 'linear' | 'step';
      readonly noise?: number;
    };

/** A resolved curve: `rpsAt(t)` with t in ms since the simulation start, never negative. */
export interface DemandCurve {
  readonly kind: string;
  readonly noise: number;
  rpsAt(t: number): number;
}

const KINDS = ['constant', 'step', 'sine', 'diurnal', 'spike', 'points'] as const;
type Kind = (typeof KINDS)[number];
const DAY_MS = 86_400_000;

/** Validates and resolves a curve; throws E_INVALID listing every problem (pointers under `base`). */
export function resolveDemandCurve(input: unknown, base = ''): DemandCurve {
  if (typeof input === 'number') input = { kind: 'constant', rps: input };
  const problems: Problem[] = [];
  if (!isRecord(input)) {
    problems.push({ pointer: base, message: 'expected a number (constant rps) or an object with a kind' });
    throw invalid('demand curve', problems);
  }
  const r = new Reader(input, base, problems);
  const kind = r.string<Kind>('kind', undefined, KINDS);
  const curve = problems.length > 0 ? undefined : BUILDERS[kind](r);
  if (curve === undefined || problems.length > 0) throw invalid('demand curve', problems);
  return curve;
}

type Builder = (r: Reader) => DemandCurve;

const BUILDERS: Readonly<Record<Kind, Builder>> = {
  constant: (r) => {
    r.only(['kind', 'rps', 'noise']);
    const rps = r.number('rps', undefined);
    return { kind: 'constant', noise: noiseOf(r), rpsAt: () => rps };
  },
  step: (r) => {
    r.only(['kind', 'rps', 'steps', 'noise']);
    const first = r.number('rps', undefined);
    const points = readPoints(r, 'steps');
    return { kind: 'step', noise: noiseOf(r), rpsAt: (t) => stepAt(points, first, t) };
  },
  sine: (r) => {
    r.only(['kind', 'base', 'amplitude', 'period', 'peakAt', 'noise']);
    const base = r.number('base', undefined);
    const amplitude = r.number('amplitude', undefined);
    const period = r.duration('period', undefined);
    if (period <= 0) r.problem('period', 'must be longer than 0');
    const peakAt = r.duration('peakAt', period / 4);
    return { kind: 'sine', noise: noiseOf(r), rpsAt: (t) => sine(base, amplitude, period, peakAt, t) };
  },
  diurnal: (r) => {
    r.only(['kind', 'min', 'max', 'peakAt', 'noise']);
    const min = r.number('min', undefined);
    const max = r.number('max', undefined, min);
    const peakAt = r.duration('peakAt', 14 * 3_600_000);
    const base = (min + max) / 2;
    return { kind: 'diurnal', noise: noiseOf(r), rpsAt: (t) => sine(base, max - base, DAY_MS, peakAt, t) };
  },
  spike: (r) => {
    r.only(['kind', 'base', 'peak', 'at', 'duration', 'ramp', 'noise']);
    const base = r.number('base', undefined);
    const peak = r.number('peak', undefined);
    const at = r.duration('at', undefined);
    const duration = r.duration('duration', undefined);
    const ramp = r.duration('ramp', 0);
    return { kind: 'spike', noise: noiseOf(r), rpsAt: (t) => spike(base, peak, at, duration, ramp, t) };
  },
  points: (r) => {
    r.only(['kind', 'points', 'interpolation', 'noise']);
    const points = readPoints(r, 'points');
    const step = r.string('interpolation', 'linear', ['linear', 'step']) === 'step';
    const first = points[0]?.rps ?? 0;
    return {
      kind: 'points',
      noise: noiseOf(r),
      rpsAt: (t) => (step ? stepAt(points, first, t) : linearAt(points, t)),
    };
  },
};

interface Point {
  readonly at: number;
  readonly rps: number;
}

function noiseOf(r: Reader): number {
  return r.number('noise', 0, 0, 1);
}

function readPoints(r: Reader, key: string): Point[] {
  const readers = r.objects(key);
  const points = readers.map((p) => {
    p.only(['at', 'rps']);
    return { at: p.duration('at', undefined), rps: p.number('rps', undefined) };
  });
  for (let i = 1; i < points.length; i++) {
    if (points[i]!.at <= points[i - 1]!.at) readers[i]!.problem('at', 'points must be in increasing time order');
  }
  return points;
}

function sine(base: number, amplitude: number, period: number, peakAt: number, t: number): number {
  return Math.max(0, base + amplitude * Math.cos((2 * Math.PI * (t - peakAt)) / period));
}

function spike(base: number, peak: number, at: number, duration: number, ramp: number, t: number): number {
  if (t < at - ramp || t > at + duration + ramp) return base;
  if (t < at) return base + ((peak - base) * (t - (at - ramp))) / ramp;
  if (t <= at + duration) return peak;
  return peak - ((peak - base) * (t - at - duration)) / ramp;
}

/** The rps of the last point at or before t (`first` before the first point). */
function stepAt(points: readonly Point[], first: number, t: number): number {
  let rps = first;
  for (const p of points) {
    if (p.at > t) break;
    rps = p.rps;
  }
  return rps;
}

function linearAt(points: readonly Point[], t: number): number {
  const next = points.findIndex((p) => p.at > t);
  if (next === 0) return points[0]!.rps;
  if (next === -1) return points[points.length - 1]!.rps;
  const a = points[next - 1]!;
  const b = points[next]!;
  return a.rps + ((b.rps - a.rps) * (t - a.at)) / (b.at - a.at);
}
