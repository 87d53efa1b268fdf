/**
 * @module Parses a policy's `spec.safety` block into a frozen SafetySpec, defaults applied and
 * durations in ms, reporting every problem with its JSON pointer and the fix. Pure.
 */
import type { Problem } from '../errors.js';
import { newReader } from '../rules/manifest-reader.js';
import type { SafetyMode, SafetySpec } from './types.js';

export const SAFETY_MODES: readonly SafetyMode[] = ['enforce', 'dry-run', 'approval'];

/** The rails of a policy without `spec.safety` (and of rule targets: `Rule/<name>`). */
export const DEFAULT_SAFETY: SafetySpec = Object.freeze({
  mode: 'enforce',
  cooldownMs: 0,
  rateLimit: Object.freeze({ max: 60, perMs: 60_000 }),
  blastRadius: Object.freeze({ maxResources: 20, maxPercent: 50, perMs: 600_000 }),
  flap: Object.freeze({ maxReversals: 4, withinMs: 600_000 }),
});

/** Longest cooldown or window: 7 days. */
export const MAX_SAFETY_WINDOW_MS = 7 * 86_400_000;
/** Largest rate limit and resource cap. */
export const MAX_SAFETY_COUNT = 100_000;
/** Largest reversal cap. */
export const MAX_REVERSALS = 1_000;

const FIELDS = ['mode', 'cooldown', 'rateLimit', 'blastRadius', 'flap'];

/**
 * Reads `raw` (the `spec.safety` value; undefined gives DEFAULT_SAFETY) at `pointer` (e.g.
 * `/spec/safety`). Problems are appended to `problems`; the returned spec then holds defaults in
 * place of the bad fields, so the caller can keep collecting problems and throw once.
 */
export function parseSafety(raw: unknown, pointer: string, problems: Problem[]): SafetySpec {
  if (raw === undefined) return DEFAULT_SAFETY;
  const r = newReader();
  const obj = r.object(raw, pointer, 'an object with any of mode, cooldown, rateLimit, blastRadius, flap');
  if (obj === undefined) {
    problems.push(...r.problems);
    return DEFAULT_SAFETY;
  }
  r.fields(obj, pointer, FIELDS);
  const d = DEFAULT_SAFETY;
  let mode = d.mode;
  if (obj.mode !== undefined) {
    if (SAFETY_MODES.includes(obj.mode as SafetyMode)) mode = obj.mode as SafetyMode;
    else r.add(`${pointer}/mode`, `must be one of ${SAFETY_MODES.join(', ')} (default enforce), not ${show(obj.mode)}`);
  }
  const cooldownMs = r.duration(obj.cooldown, `${pointer}/cooldown`, 0, MAX_SAFETY_WINDOW_MS, d.cooldownMs);

  const rateAt = `${pointer}/rateLimit`;
  const rate = r.optionalObject(obj.rateLimit, rateAt, "an object { max: 10, per: '1m' }");
  r.fields(rate, rateAt, ['max', 'per']);
  const rateLimit = Object.freeze({
    max: r.integer(rate.max, `${rateAt}/max`, 1, MAX_SAFETY_COUNT, d.rateLimit.max),
    perMs: r.duration(rate.per, `${rateAt}/per`, 1_000, MAX_SAFETY_WINDOW_MS, d.rateLimit.perMs),
  });

  const blastAt = `${pointer}/blastRadius`;
  const blast = r.optionalObject(obj.blastRadius, blastAt, "an object { maxResources: 5, maxPercent: 25, per: '10m' }");
  r.fields(blast, blastAt, ['maxResources', 'maxPercent', 'per']);
  const blastRadius = Object.freeze({
    maxResources: r.integer(
      blast.maxResources,
      `${blastAt}/maxResources`,
      1,
      MAX_SAFETY_COUNT,
      d.blastRadius.maxResources,
    ),
    maxPercent: percent(r, blast.maxPercent, `${blastAt}/maxPercent`, d.blastRadius.maxPercent),
    perMs: r.duration(blast.per, `${blastAt}/per`, 1_000, MAX_SAFETY_WINDOW_MS, d.blastRadius.perMs),
  });

  const flapAt = `${pointer}/flap`;
  const flapRaw = r.optionalObject(obj.flap, flapAt, "an object { maxReversals: 3, within: '10m' }");
  r.fields(flapRaw, flapAt, ['maxReversals', 'within']);
  const flap = Object.freeze({
    maxReversals: r.integer(flapRaw.maxReversals, `${flapAt}/maxReversals`, 1, MAX_REVERSALS, d.flap.maxReversals),
    withinMs: r.duration(flapRaw.within, `${flapAt}/within`, 1_000, MAX_SAFETY_WINDOW_MS, d.flap.withinMs),
  });

  problems.push(...r.problems);
  return Object.freeze({ mode, cooldownMs, rateLimit, blastRadius, flap });
}

function percent(r: ReturnType<typeof newReader>, value: unknown, at: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isFinite(value) && value > 0 && value <= 100) return value;
  r.add(
    at,
    `must be a number above 0 and at most 100 (a percentage of the group; default ${fallback}), not ${show(value)}`,
  );
  return fallback;
}

function show(v: unknown): string {
  return Array.isArray(v) ? 'a list' : v === null ? 'null' : JSON.stringify(v);
}
