/**
 * @module DeliveryStore: the dispatcher's durable state: which (event, rule, target) deliveries
 * are pending a retry, delivered or dead-lettered; the dead-letter queue; the causal trace.
 *
 * Contract:
 * - A delivery is identified by its key (event source + id, rule, target). Its status moves
 *   pending -> delivered | dead, and dead -> pending on redrive. `delivered` is final: a change
 *   that would move a delivered key back to pending or dead is ignored (idempotency).
 * - `apply` writes a batch of changes in one transaction, in order; when it resolves they are
 *   durable (per the store's fsync setting). Concurrent `apply` calls are serialized.
 * - `pending` returns every pending delivery (to resume after a restart), oldest `nextAt` first.
 * - A dead letter keeps a copy of the event, so it survives log retention; purging a dead letter
 *   keeps the key's `dead` status (the event is not delivered again by a restart).
 * - Trace entries are append-only; `trace` returns an event's entries in the order written.
 * - Errors: HomeostatError E_BACKEND (retryable), E_CLOSED after close.
 */
import type { CloudEvent } from '../core/event.js';
import type { SerializedError } from './target.js';

export interface DeliveryKey {
  readonly source: string;
  readonly id: string;
  readonly rule: string;
  readonly target: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'dead';

export interface PendingDelivery {
  readonly key: DeliveryKey;
  /** The event's log offset. */
  readonly offset: number;
  /** Attempts made so far. */
  readonly attempts: number;
  /** When the next attempt is due, ms since the epoch. */
  readonly nextAt: number;
  readonly lastError?: SerializedError;
  readonly replayed: boolean;
}

export interface DeadLetter {
  /** Increasing id of the entry. */
  readonly id: number;
  readonly key: DeliveryKey;
  readonly offset: number;
  readonly attempts: number;
  /** Why the policy gave up: 'max-attempts', 'max-age', 'not-retryable', 'rule-deleted', ... */
  readonly reason: string;
  readonly error: SerializedError;
  readonly event: CloudEvent;
  readonly deadAt: number;
}

export type TraceKind =
  'matched' | 'attempt' | 'delivered' | 'retry-scheduled' | 'dead-lettered' | 'skipped' | 'emitted';

export interface TraceEntry {
  readonly source: string;
  readonly id: string;
  readonly offset: number;
  readonly at: number;
  readonly kind: TraceKind;
  readonly rule?: string;
  readonly target?: string;
  readonly attempt?: number;
  /** Kind-specific facts: outcome detail, error, delay, emitted event ids, replayed flag. */
  readonly detail?: Readonly<Record<string, unknown>>;
}

export type DeliveryChange =
  | { readonly kind: 'pending'; readonly delivery: PendingDelivery }
  | {
      readonly kind: 'delivered';
      readonly key: DeliveryKey;
      readonly offset: number;
      readonly attempts: number;
      readonly at: number;
    }
  | { readonly kind: 'dead'; readonly letter: Omit<DeadLetter, 'id'> }
  /** Removes dead-letter entries (redriven or purged) by id; the keys' status is set by other changes. */
  | { readonly kind: 'remove-dead'; readonly ids: readonly number[] }
  | { readonly kind: 'trace'; readonly entry: TraceEntry };

export interface DeadLetterFilter {
  readonly rule?: string;
  readonly target?: string;
  /** Only entries dead-lettered at or after (ms). */
  readonly since?: number;
  readonly until?: number;
}

export interface DeadLetterPage extends DeadLetterFilter {
  /** Entries with id greater than this. */
  readonly after?: number;
  /** Default 100, at most 1,000. */
  readonly limit?: number;
}

export interface DeliveryStore {
  apply(changes: readonly DeliveryChange[]): Promise<void>;
  /**
   * Status of each key (undefined: never seen), as of the changes applied before the call. The
   * dispatcher asks one key per starting job; a remote store should gather concurrent calls into
   * few queries (the PostgreSQL store sends those of one event-loop turn together).
   */
  statusOf(keys: readonly DeliveryKey[]): Promise<(DeliveryStatus | undefined)[]>;
  pending(): Promise<PendingDelivery[]>;
  listDead(page?: DeadLetterPage): Promise<DeadLetter[]>;
  getDead(id: number): Promise<DeadLetter | undefined>;
  countDead(filter?: DeadLetterFilter): Promise<number>;
  /** An event's trace entries; all events with that id when `source` is omitted. */
  trace(id: string, source?: string): Promise<TraceEntry[]>;
  /** Forgets delivered keys and trace entries older than `before` (ms); returns rows removed. */
  prune(before: number): Promise<number>;
}
