/**
 * @module RuleStore: rule manifests by name.
 *
 * Contract: stores each rule's manifest document as applied (already validated by the caller);
 * `put` creates or replaces and bumps `generation` (1 on create); names are unique and
 * case-sensitive; `list` is ordered by name. Writes are durable when the promise resolves.
 */

export interface StoredRule {
  readonly name: string;
  /** The manifest document (apiVersion, kind, metadata, spec) as JSON. */
  readonly manifest: Readonly<Record<string, unknown>>;
  readonly generation: number;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface RuleStore {
  /** Creates or replaces; returns the stored row. */
  put(name: string, manifest: Readonly<Record<string, unknown>>): Promise<StoredRule>;
  get(name: string): Promise<StoredRule | undefined>;
  list(): Promise<StoredRule[]>;
  /** True if a rule was removed. */
  delete(name: string): Promise<boolean>;
}

/** Stacks (`kind: Stack` manifests) are stored the same way, by name, with the same contract. */
export type StackStore = RuleStore;

/** Policies (ScalingPolicy, HealingPolicy, ...) are stored the same way, keyed `<Kind>/<name>`. */
export type PolicyStore = RuleStore;
