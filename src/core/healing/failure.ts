/**
 * @module Which instance events are failures, of which kind, and when failures make a crash loop
 * (N within a sliding window, counted per group). Pure.
 */
import { FailureKind } from './types.js';

/** An `instance.unhealthy` reason that says the health check timed out: the instance is hung. */
export const HUNG_REASON = /timeout|timed out|no answer/i;

/** Failures that count toward a crash loop: the instance could not run at all. */
export const LOOP_KINDS: readonly FailureKind[] = [FailureKind.crashed, FailureKind.notReady];

/**
 * The failure an infra event reports, or undefined when it reports none. `infra.instance.crashed`
 * is a crash; `infra.instance.unhealthy` is a hang when its reason is a health-check timeout
 * (local: 'no answer from /healthz within 500 ms'; sim: 'health-check-timeout'), else unhealthy.
 */
export function classifyFailure(type: string, data: unknown): FailureKind | undefined {
  if (type === 'infra.instance.crashed') return FailureKind.crashed;
  if (type !== 'infra.instance.unhealthy') return undefined;
  const reason = (data as { reason?: unknown } | undefined)?.reason;
  return typeof reason === 'string' && HUNG_REASON.test(reason) ? FailureKind.hung : FailureKind.unhealthy;
}

export interface CrashLoopSpec {
  readonly crashes: number;
  readonly withinMs: number;
}

/**
 * Adds a failure at `at` to a window of failure times (any order in, ascending out), keeps those
 * within `withinMs` of the latest (inclusive), and tells whether that makes `crashes` or more.
 */
export function noteCrash(
  window: readonly number[],
  at: number,
  spec: CrashLoopSpec,
): { readonly window: number[]; readonly loop: boolean } {
  const latest = Math.max(at, ...window);
  const kept = [...window, at].filter((t) => t >= latest - spec.withinMs).sort((a, b) => a - b);
  return { window: kept, loop: kept.length >= spec.crashes };
}
