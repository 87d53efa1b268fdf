/**
 * @module Target: what an action does when a rule's target receives a matched event.
 *
 * Contract:
 * - `validate` checks a target's `with` options when the rule is created; each problem's pointer
 *   is relative to `with` (e.g. `/url`). It must not do I/O.
 * - `deliver` performs one attempt. It resolves with an outcome and never rejects for a failure
 *   of the action itself (a rejection is treated as a retryable failure with the thrown error).
 * - It must stop promptly when `signal` aborts (the attempt's timeout or shutdown).
 * - Idempotency: the dispatcher calls `deliver` at least once per (event, rule, target) until an
 *   outcome is ok or the retry policy gives up. Actions use `idempotencyKey` to make repeats
 *   harmless (http sends it as `Idempotency-Key`; emit derives the new event's id from it).
 * - Failures as data: `retry: 'no'` dead-letters at once; `retryAfterMs` overrides the backoff.
 */
import type { Problem } from '../core/errors.js';
import type { TargetSpec } from '../core/rules/types.js';
import type { LogRecord } from './event-log.js';

export interface DeliveryRequest {
  readonly record: LogRecord;
  readonly rule: string;
  readonly target: TargetSpec;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly idempotencyKey: string;
  /** The event after the target's input transform (the whole event when it has none). */
  readonly payload: unknown;
  /** True when the delivery comes from a replay. */
  readonly replayed: boolean;
  readonly signal: AbortSignal;
}

/** An error in a form that can be stored and shown: code, message and optional details. */
export interface SerializedError {
  readonly code: string;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export type DeliveryOutcome =
  | {
      readonly ok: true;
      /** What the action reports, e.g. `{ status: 200 }` or the emitted event's id. Recorded in the trace. */
      readonly detail?: Readonly<Record<string, unknown>>;
      /** Events the action appended to the log (emit), as (source, id), for the causal trail. */
      readonly emitted?: readonly { readonly source: string; readonly id: string }[];
    }
  | {
      readonly ok: false;
      readonly error: SerializedError;
      /** 'no': do not retry (e.g. HTTP 400); 'yes': retry per policy. */
      readonly retry: 'yes' | 'no';
      /** Wait at least this long before the next attempt (e.g. HTTP 429 Retry-After). */
      readonly retryAfterMs?: number;
    };

export interface Target {
  readonly action: string;
  /**
   * Where deliveries to this action run when several nodes share the work (docs/DEPLOYMENT.md):
   * `partition` (default) on the node that owns the event's partition; `leader` on the one node
   * that leads, because the action acts on state that one process owns (policies, workflows,
   * infrastructure changes). A single node runs both.
   */
  readonly placement?: 'partition' | 'leader';
  validate(options: Readonly<Record<string, unknown>>): Problem[];
  deliver(request: DeliveryRequest): Promise<DeliveryOutcome>;
}

/** The actions available, by name. */
export type TargetRegistry = ReadonlyMap<string, Target>;
