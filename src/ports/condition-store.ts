/**
 * @module ConditionStore: durable snapshots of the rules' stateful conditions (`when`), so that
 * windows, silences and cooldowns survive a restart.
 *
 * Contract:
 * - One row per rule name. A row's snapshot reflects every log event below `offset` and none at
 *   or after it; the engine restores it and feeds only events from `offset` on.
 * - `save` applies its removals, then its upserts, then its offset advances, in one transaction;
 *   when it resolves the changes are durable (per the store's fsync setting). Concurrent calls
 *   are serialized. An advance never lowers a row's offset and ignores rules without a row.
 * - `list` returns every row, in rule name order.
 * - Errors: HomeostatError E_BACKEND (retryable), E_CLOSED after close.
 */

export interface ConditionRow {
  readonly rule: string;
  /** Identifies the rule's match + when: a different one means the snapshot no longer applies. */
  readonly fingerprint: string;
  /** Starts at 1 and increases each time the rule's condition starts afresh. */
  readonly generation: number;
  /** The snapshot reflects every log event below this offset. */
  readonly offset: number;
  /** The condition state's snapshot (JSON). */
  readonly snapshot: unknown;
  /** When it was written, ms since the epoch. */
  readonly savedAt: number;
}

export interface ConditionSave {
  /** Rows deleted (rules deleted, disabled or no longer conditional). */
  readonly remove?: readonly string[];
  /** Rows written whole. */
  readonly put?: readonly ConditionRow[];
  /** Rules whose state did not change: only their offset moves up to `offset`. */
  readonly advance?: { readonly rules: readonly string[]; readonly offset: number };
}

export interface ConditionStore {
  list(): Promise<ConditionRow[]>;
  save(changes: ConditionSave): Promise<void>;
}
