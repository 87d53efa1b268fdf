/** @module Helpers the actions share to check and compile their `with` options. */
import { type Problem, pointerSegment } from '../core/errors.js';
import { DeliveryErrorCode } from '../core/delivery/codes.js';
import type { DeliveryOutcome } from '../ports/target.js';

export type Options = Readonly<Record<string, unknown>>;

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One problem per key of `options` that is not in `allowed`. */
export function unknownKeys(options: Options, allowed: readonly string[]): Problem[] {
  return Object.keys(options)
    .filter((k) => !allowed.includes(k))
    .map((k) => ({ pointer: `/${pointerSegment(k)}`, message: `unknown option; allowed: ${allowed.join(', ')}` }));
}

/**
 * Compiles options once per `with` object (rule specs are frozen and reused for every delivery).
 * `compile` returns the compiled form or the problems; problems are cached too.
 */
export function createOptionCache<T>(
  compile: (options: Options) => T | Problem[],
): (options: Options) => T | Problem[] {
  const cache = new WeakMap<Options, T | Problem[]>();
  return (options) => {
    let hit = cache.get(options);
    if (hit === undefined) {
      hit = compile(options);
      cache.set(options, hit);
    }
    return hit;
  };
}

/** The outcome for options that no longer pass validation at delivery time (e.g. config changed). */
export function invalidOptions(action: string, problems: readonly Problem[]): DeliveryOutcome {
  const list = problems.map((p) => `with${p.pointer}: ${p.message}`).join('; ');
  return {
    ok: false,
    retry: 'no',
    error: {
      code: DeliveryErrorCode.ACTION_CONFIG,
      message: `${action} target options are invalid: ${list}`,
      details: { problems },
    },
  };
}

/** A failed outcome. */
export function failure(
  code: string,
  message: string,
  retry: 'yes' | 'no',
  details?: Readonly<Record<string, unknown>>,
  retryAfterMs?: number,
): DeliveryOutcome {
  const error = details === undefined ? { code, message } : { code, message, details };
  return retryAfterMs === undefined ? { ok: false, retry, error } : { ok: false, retry, error, retryAfterMs };
}

/** Ms elapsed since `start`, rounded to 0.1 ms. */
export function elapsed(start: number): number {
  return Math.round((performance.now() - start) * 10) / 10;
}
