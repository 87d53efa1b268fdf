/**
 * @module DeliveryAdmin: what operators can do with the dispatcher's dead letters and trace (the
 * HTTP API and `homeostat dlq` / `homeostat trace` sit on it; the dispatcher implements it).
 *
 * Contract:
 * - Reads (`listDead`, `getDead`, `countDead`, `trace`) have the DeliveryStore's semantics
 *   (src/ports/delivery-store.ts): dead letters by increasing id, pages of at most 1,000, trace
 *   entries in the order written, every source with that id when `source` is omitted.
 * - `redrive` removes the selected dead letters and re-queues their deliveries for a new round of
 *   attempts under the target's current retry policy (attempts start again from 0; the event is
 *   taken from the dead letter's copy, so redrive works after log retention removed it). A key
 *   that was delivered in the meantime is not executed again (idempotency): its entry is removed
 *   and counted in `alreadyDelivered`. A dead letter whose rule or target no longer exists is
 *   dead-lettered again at once with reason 'rule-deleted' (it is counted as redriven).
 * - `purge` removes the selected dead letters; their keys stay `dead`, so nothing is delivered.
 * - A selector names ids, or a filter; an empty filter selects every dead letter. Interfaces
 *   make that explicit (`{ all: true }` over HTTP, `--all` in the CLI) before calling with `{}`.
 * - Ids that are not in the queue are reported in `missing`, not thrown; both operations are
 *   durable when they resolve and are safe to repeat.
 * - Errors: HomeostatError E_BACKEND (retryable), E_CLOSED while shutting down.
 */
import type { DeadLetter, DeadLetterFilter, DeadLetterPage, TraceEntry } from '../ports/delivery-store.js';

export type { DeadLetter, DeadLetterFilter, DeadLetterPage, TraceEntry };

/** Which dead letters an operation applies to: these ids, or every entry matching a filter. */
export type DeadLetterSelector = { readonly ids: readonly number[] } | { readonly filter: DeadLetterFilter };

export interface RedriveResult {
  /** Dead letters removed and re-queued for delivery. */
  readonly redriven: number;
  /** Dead letters removed without a new delivery because their key had been delivered since. */
  readonly alreadyDelivered: number;
  /** Requested ids that were not in the dead-letter queue (always empty for a filter). */
  readonly missing: readonly number[];
}

export interface PurgeResult {
  readonly purged: number;
  /** Requested ids that were not in the dead-letter queue (always empty for a filter). */
  readonly missing: readonly number[];
}

/**
 * The `detail` the dispatcher writes on trace entries, by kind, so that `homeostat trace` can show
 * it; any other field is shown as JSON.
 */
export interface TraceDetailConventions {
  /** attempt / delivered: what the action reported (e.g. `{ status: 200 }`). */
  readonly outcome?: Readonly<Record<string, unknown>>;
  /** attempt / retry-scheduled / dead-lettered: the failure. */
  readonly error?: { readonly code: string; readonly message: string };
  /** retry-scheduled: how long until the next attempt. */
  readonly delayMs?: number;
  /** dead-lettered / skipped: why. */
  readonly reason?: string;
  /** dead-lettered: the dead letter's id. */
  readonly deadLetter?: number;
  /** emitted: the events the action appended, as (source, id). */
  readonly events?: readonly { readonly source: string; readonly id: string }[];
  /** Set when the delivery comes from a replay or a redrive. */
  readonly replayed?: boolean;
  readonly redriven?: boolean;
}

/** Operator actions on dead letters and the causal trace. */
export interface DeliveryAdmin {
  /** A page of dead letters, oldest id first. */
  listDead(page: DeadLetterPage): Promise<DeadLetter[]>;
  getDead(id: number): Promise<DeadLetter | undefined>;
  countDead(filter?: DeadLetterFilter): Promise<number>;
  /** Re-queues the selected dead letters for delivery; see the contract. */
  redrive(selector: DeadLetterSelector): Promise<RedriveResult>;
  /** Deletes the selected dead letters without delivering them. */
  purge(selector: DeadLetterSelector): Promise<PurgeResult>;
  /** An event's trace entries in the order written; every source with that id when `source` is omitted. */
  trace(id: string, source?: string): Promise<TraceEntry[]>;
}
