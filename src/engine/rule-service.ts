/**
 * @module RuleService: validates rule manifests, keeps them in a RuleStore, and tells the router
 * (through `onChange`) which rules exist and whether each is enabled.
 *
 * Contract:
 * - Every write validates the manifest first (E_INVALID listing every problem); nothing invalid
 *   reaches the store.
 * - Writes are serialized: `apply`, `create`, `delete`, `setEnabled` and `load` run one at a time.
 * - `onChange(name, spec)` runs after the store write is durable: with the spec when a rule is
 *   created, replaced, enabled or disabled (`spec.enabled` tells which), with undefined when it is
 *   deleted. `load` calls it for every stored rule that validates.
 * - A stored manifest that no longer validates (e.g. its action was removed from the config) is
 *   reported through `onInvalid` at load and skipped: it is not served by `get`/`list` and never
 *   reaches `onChange`, but `apply` can replace it and `delete` removes it.
 * - `get` and `list` answer from the rules loaded or written by this service.
 */
import type { Clock } from '../core/clock.js';
import { ErrorCode, HomeostatError } from '../core/errors.js';
import type { MatchExplanation, PatternLimits } from '../core/pattern/types.js';
import { parseRuleManifest, type RuleValidationContext, testPattern } from '../core/rules/manifest.js';
import type { RuleRecord, RuleSpec } from '../core/rules/types.js';
import { jsonEqual } from '../core/schema-compat.js';
import type { RuleStore, StoredRule } from '../ports/rule-store.js';
import type { TargetRegistry } from '../ports/target.js';

export interface RuleServiceOptions {
  readonly store: RuleStore;
  /** The time source of the composition root (the store stamps the records' times). */
  readonly clock: Clock;
  readonly context: RuleValidationContext;
  /** A rule was created, replaced, enabled or disabled (spec), or deleted (undefined). */
  onChange(name: string, spec: RuleSpec | undefined): void;
  /** A stored rule failed validation at load and was skipped. */
  onInvalid?(name: string, error: unknown): void;
}

export interface ApplyResult {
  readonly record: RuleRecord;
  /** True when no rule had this name before. */
  readonly created: boolean;
  /** False when the manifest equals the stored one (nothing was written). */
  readonly changed: boolean;
}

export interface RuleService {
  /** Reads every stored rule, validates it and reports it through `onChange`. */
  load(): Promise<void>;
  /**
   * Re-reads the store and reports only what changed since (another node wrote it): new or
   * changed rules, and deleted ones. Returns how many changed.
   */
  sync(): Promise<number>;
  /** Creates or replaces the rule the manifest names. */
  apply(manifest: unknown): Promise<ApplyResult>;
  /** Creates a rule; E_CONFLICT when one with that name exists. */
  create(manifest: unknown): Promise<RuleRecord>;
  get(name: string): Promise<RuleRecord | undefined>;
  /** Every rule, ordered by name. */
  list(): Promise<RuleRecord[]>;
  /** True when a rule was deleted. */
  delete(name: string): Promise<boolean>;
  /** Enables or disables a rule (a no-op when it already is); E_NOT_FOUND when it does not exist. */
  setEnabled(name: string, enabled: boolean): Promise<RuleRecord>;
  /** Whether `event` matches `pattern`, and why not; E_INVALID (pointers /pattern, /event). */
  test(pattern: unknown, event: unknown): MatchExplanation;
  /** Validates rule manifests without storing them (E_INVALID listing every problem). */
  validate(manifests: readonly unknown[]): RuleSpec[];
  /**
   * Replaces the rules an owner (a policy such as `ScalingPolicy/web`) generates. They are kept in
   * memory, not stored (the owner generates them again at start), listed with `managedBy`, and
   * refused by `apply`, `create`, `delete` and `setEnabled`. An empty list removes them.
   * E_CONFLICT when a name belongs to a user's rule or another owner.
   */
  setManaged(owner: string, manifests: readonly unknown[]): Promise<RuleRecord[]>;
}

/** E_NOT_FOUND for a rule name, saying how to list the rules. */
export function ruleNotFound(name: string): HomeostatError {
  return new HomeostatError(
    ErrorCode.NOT_FOUND,
    `no rule named '${name}'; list the rules with \`homeostat get rules\` or GET /v1/rules`,
    { details: { name } },
  );
}

/** A validation context from the actions a runtime offers. */
export function ruleValidationContext(
  targets: TargetRegistry,
  patternLimits?: Partial<PatternLimits>,
): RuleValidationContext {
  return {
    knownActions: [...targets.keys()].sort(),
    validateAction: (action, options) => targets.get(action)?.validate(options),
    ...(patternLimits === undefined ? {} : { patternLimits }),
  };
}

/** The manifest as stored: apiVersion, kind, metadata and spec, as plain JSON. */
function normalize(doc: unknown): Record<string, unknown> {
  const { apiVersion, kind, metadata, spec } = doc as Record<string, unknown>;
  return JSON.parse(JSON.stringify({ apiVersion, kind, metadata, spec })) as Record<string, unknown>;
}

function toRecord(spec: RuleSpec, stored: StoredRule): RuleRecord {
  const { manifest, generation, createdAt, updatedAt } = stored;
  return Object.freeze({ spec, manifest, generation, createdAt, updatedAt });
}

/** Creates the service; call `load` before serving. */
export function createRuleService(options: RuleServiceOptions): RuleService {
  const { store, context } = options;
  const rules = new Map<string, RuleRecord>();
  /** Rule name → owner, for managed rules. */
  const managed = new Map<string, string>();
  let queue: Promise<unknown> = Promise.resolve();

  function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = queue.then(() => fn());
    queue = run.catch(() => undefined);
    return run;
  }

  async function write(spec: RuleSpec, manifest: Record<string, unknown>): Promise<RuleRecord> {
    const record = toRecord(spec, await store.put(spec.name, manifest));
    rules.set(spec.name, record);
    options.onChange(spec.name, spec);
    return record;
  }

  const invalidSeen = new Map<string, string>();
  /**
   * Brings `rules` in line with the store and reports through `onChange`: every stored rule, or
   * with `changedOnly` those whose version differs (a rule that no longer validates then keeps its
   * last good version). A stored rule that does not validate is reported once per version.
   */
  async function reconcile(changedOnly: boolean): Promise<number> {
    const kept = new Set<string>();
    let changed = 0;
    for (const entry of await store.list()) {
      const current = rules.get(entry.name);
      if (changedOnly && current?.generation === entry.generation && current.updatedAt === entry.updatedAt) {
        kept.add(entry.name);
        continue;
      }
      try {
        const record = toRecord(parseRuleManifest(entry.manifest, context), entry);
        rules.set(entry.name, record);
        options.onChange(entry.name, record.spec);
        kept.add(entry.name);
        changed++;
      } catch (err) {
        const version = `${entry.generation}@${entry.updatedAt}`;
        if (invalidSeen.get(entry.name) !== version) options.onInvalid?.(entry.name, err);
        invalidSeen.set(entry.name, version);
        if (changedOnly && current) kept.add(entry.name);
      }
    }
    for (const name of [...rules.keys()]) {
      if (kept.has(name) || managed.has(name)) continue;
      rules.delete(name);
      options.onChange(name, undefined);
      changed++;
    }
    return changed;
  }

  function refuseManaged(name: string): void {
    const owner = managed.get(name);
    if (owner === undefined) return;
    throw new HomeostatError(
      ErrorCode.CONFLICT,
      `rule '${name}' is generated by ${owner}; change or delete ${owner} instead (\`homeostat get policies\`)`,
      { details: { name, managedBy: owner } },
    );
  }

  async function setManaged(owner: string, docs: readonly unknown[]): Promise<RuleRecord[]> {
    const specs = docs.map((doc) => parseRuleManifest(doc, context));
    return exclusive(async () => {
      for (const spec of specs) {
        const current = managed.get(spec.name);
        if (current === owner) continue;
        const what = current === undefined ? 'a rule of that name exists' : `it belongs to ${current}`;
        if (current !== undefined || rules.has(spec.name))
          throw new HomeostatError(ErrorCode.CONFLICT, `${owner} cannot generate rule '${spec.name}': ${what}`, {
            details: { name: spec.name, owner },
          });
      }
      const keep = new Set(specs.map((s) => s.name));
      for (const [name, by] of [...managed]) {
        if (by !== owner || keep.has(name)) continue;
        managed.delete(name);
        rules.delete(name);
        options.onChange(name, undefined);
      }
      const now = options.clock.now();
      const out: RuleRecord[] = [];
      specs.forEach((spec, i) => {
        const manifest = normalize(docs[i]);
        const current = rules.get(spec.name);
        if (current && jsonEqual(current.manifest, manifest)) return void out.push(current);
        const generation = (current?.generation ?? 0) + 1;
        const createdAt = current?.createdAt ?? now;
        const record = Object.freeze({ spec, manifest, generation, createdAt, updatedAt: now, managedBy: owner });
        managed.set(spec.name, owner);
        rules.set(spec.name, record);
        options.onChange(spec.name, spec);
        out.push(record);
      });
      return out;
    });
  }

  async function apply(doc: unknown): Promise<ApplyResult> {
    const spec = parseRuleManifest(doc, context);
    const manifest = normalize(doc);
    refuseManaged(spec.name);
    return exclusive(async () => {
      const current = rules.get(spec.name);
      if (current && jsonEqual(current.manifest, manifest)) return { record: current, created: false, changed: false };
      const created = current === undefined && (await store.get(spec.name)) === undefined;
      return { record: await write(spec, manifest), created, changed: true };
    });
  }

  async function create(doc: unknown): Promise<RuleRecord> {
    const spec = parseRuleManifest(doc, context);
    const manifest = normalize(doc);
    refuseManaged(spec.name);
    return exclusive(async () => {
      if (rules.has(spec.name) || (await store.get(spec.name)) !== undefined) {
        throw new HomeostatError(
          ErrorCode.CONFLICT,
          `rule '${spec.name}' already exists; replace it with PUT /v1/rules/${spec.name} or \`homeostat apply -f\`, or delete it first`,
          { details: { name: spec.name } },
        );
      }
      return write(spec, manifest);
    });
  }

  async function remove(name: string): Promise<boolean> {
    refuseManaged(name);
    return exclusive(async () => {
      const removed = await store.delete(name);
      if (rules.delete(name)) options.onChange(name, undefined);
      return removed;
    });
  }

  async function setEnabled(name: string, enabled: boolean): Promise<RuleRecord> {
    refuseManaged(name);
    return exclusive(async () => {
      const current = rules.get(name);
      if (!current) throw ruleNotFound(name);
      if (current.spec.enabled === enabled) return current;
      const spec = current.manifest.spec as Record<string, unknown>;
      const manifest = { ...current.manifest, spec: { ...spec, enabled } };
      return write(Object.freeze({ ...current.spec, enabled }), manifest);
    });
  }

  return {
    load: () => exclusive(async () => void (await reconcile(false))),
    sync: () => exclusive(() => reconcile(true)),
    apply,
    create,
    get: async (name) => rules.get(name),
    list: async () => [...rules.values()].sort((a, b) => (a.spec.name < b.spec.name ? -1 : 1)),
    delete: remove,
    setEnabled,
    test: (pattern, event) => testPattern(pattern, event, context.patternLimits),
    validate: (docs) => docs.map((doc) => parseRuleManifest(doc, context)),
    setManaged,
  };
}
