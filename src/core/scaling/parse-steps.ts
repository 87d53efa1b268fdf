/** @module Readers for a ScalingPolicy's step amounts (`4`, `'50%'`), `steps` list and `scaleOut` / `scaleIn` blocks. */
import { MAX_GROUP_SIZE } from '../infra/stack-resources.js';
import type { ManifestReader } from '../rules/manifest-reader.js';
import type { DirectionSpec, MaxStep, StepSpec } from './types.js';

/** Most steps a policy may list. */
export const MAX_STEPS = 20;
/** Largest percentage a step or maximum step may give. */
export const MAX_PERCENT = 10_000;

const PERCENT = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/;

/** An amount of instances: a whole number (`4`) or a percentage of the current size (`'50%'`). */
export function readMaxStep(r: ManifestReader, value: unknown, at: string): MaxStep | undefined {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_GROUP_SIZE) {
    return { instances: value };
  }
  const m = typeof value === 'string' ? PERCENT.exec(value) : null;
  const percent = m ? Number(m[1]) : Number.NaN;
  if (percent > 0 && percent <= MAX_PERCENT) return { percent };
  r.add(
    at,
    `must be a whole number of instances from 1 to ${MAX_GROUP_SIZE} or a percentage of the current size above 0% up to ${MAX_PERCENT}% (e.g. 4 or '100%'), not ${JSON.stringify(value)}`,
  );
  return undefined;
}

/** `scaleOut` or `scaleIn`: cooldown, stabilization, maxStep. */
export function readDirection(
  r: ManifestReader,
  value: unknown,
  at: string,
  defaults: { readonly cooldownMs: number; readonly stabilizationMs: number },
): DirectionSpec {
  const o = r.optionalObject(value, at, "an object { cooldown: '5s', stabilization: '60s', maxStep: 4 }");
  r.fields(o, at, ['cooldown', 'stabilization', 'maxStep']);
  const day = 86_400_000;
  const cooldownMs = r.duration(o.cooldown, `${at}/cooldown`, 0, day, defaults.cooldownMs);
  const stabilizationMs = r.duration(o.stabilization, `${at}/stabilization`, 0, day, defaults.stabilizationMs);
  const maxStep = o.maxStep === undefined ? undefined : readMaxStep(r, o.maxStep, `${at}/maxStep`);
  return { cooldownMs, stabilizationMs, ...(maxStep === undefined ? {} : { maxStep }) };
}

function threshold(r: ManifestReader, value: unknown, at: string): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  r.add(at, `must be a number (the metric value the step starts at), not ${JSON.stringify(value)}`);
  return undefined;
}

function readStep(r: ManifestReader, value: unknown, at: string): StepSpec | undefined {
  const o = r.object(value, at, 'a step { above: 150, add: 2 } or { below: 30, remove: 1 }');
  if (!o) return undefined;
  if ((o.above === undefined) === (o.below === undefined)) {
    r.add(at, 'needs exactly one of above (with add) and below (with remove)');
    return undefined;
  }
  const up = o.above !== undefined;
  r.fields(o, at, up ? ['above', 'add'] : ['below', 'remove']);
  const bound = threshold(r, up ? o.above : o.below, `${at}/${up ? 'above' : 'below'}`);
  const key = up ? 'add' : 'remove';
  if (o[key] === undefined) {
    r.add(`${at}/${key}`, `required: how many instances to ${key} (e.g. 2 or '50%')`);
    return undefined;
  }
  const amount = readMaxStep(r, o[key], `${at}/${key}`);
  if (bound === undefined || amount === undefined) return undefined;
  return up ? { above: bound, add: amount } : { below: bound, remove: amount };
}

/** Step scaling bands: no threshold twice, and no value in both a scale-out and a scale-in band. */
export function readSteps(r: ManifestReader, value: unknown, at: string): StepSpec[] | undefined {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_STEPS) {
    r.add(at, `must be a list of 1 to ${MAX_STEPS} steps such as { above: 150, add: 2 } or { below: 30, remove: 1 }`);
    return undefined;
  }
  const before = r.problems.length;
  const steps = value.map((v: unknown, i) => readStep(r, v, `${at}/${i}`));
  if (r.problems.length > before) return undefined;
  const ok = steps as StepSpec[];
  const seen = new Map<string, number>();
  ok.forEach((s, i) => {
    const k = 'above' in s ? `above ${s.above}` : `below ${s.below}`;
    const first = seen.get(k);
    if (first !== undefined) r.add(`${at}/${i}`, `repeats ${k} of step ${first}; give each threshold once`);
    else seen.set(k, i);
  });
  const aboves = ok.flatMap((s) => ('above' in s ? [s.above] : []));
  const belows = ok.flatMap((s) => ('below' in s ? [s.below] : []));
  if (aboves.length > 0 && belows.length > 0 && Math.max(...belows) > Math.min(...aboves)) {
    const i = ok.findIndex((s) => 'below' in s && s.below === Math.max(...belows));
    r.add(
      `${at}/${i}`,
      `below ${Math.max(...belows)} overlaps above ${Math.min(...aboves)}: a value between them would both add and remove; keep every below at or under the lowest above`,
    );
  }
  return ok;
}
