/**
 * @module The compiled matcher: every pattern in one structure.
 *
 * Patterns are broken into conditions (one per field of each `$or` branch); each condition's value
 * matchers go into the {@link PathIndex} of its path. Matching walks only the parts of the event
 * that some pattern refers to, asks each path's index which conditions a value satisfies, and
 * counts satisfied conditions per branch: a branch whose count reaches its number of positive
 * conditions is a candidate. The work per event therefore follows the conditions that hold, not
 * the number of patterns. Candidates that involve event arrays or `exists: false` are confirmed
 * by the array-consistent search shared with the naive matcher ({@link searchBranch}).
 */
import { type FlatValue, type Membership, searchBranch } from './flatten.js';
import { JsonScanner } from './json-select.js';
import { PathIndex } from './path-index.js';
import { type PathNode, PathTrie } from './path-trie.js';
import type { Branch, FieldCondition, Matcher, Pattern, ValueMatcher } from './types.js';
import { acceptsAbsence, type Leaf, valueMatches } from './values.js';

interface BranchInfo {
  readonly branch: Branch;
  readonly rule: number;
  /** Positive conditions (fields that cannot be satisfied by absence). */
  readonly needed: number;
  readonly verifyAlways: boolean;
  readonly slots: readonly number[];
  /** Condition ids of the indexed fields, in field order. */
  readonly conds: readonly number[];
  /** Per field: in the path index (counted) or checked on candidates. Changed by re-anchoring. */
  readonly indexed: boolean[];
  readonly hasAbsence: boolean;
}

interface RuleEntry<Id> {
  readonly id: Id;
  readonly slot: number;
  readonly pattern: Pattern;
  readonly branches: number[];
}

const NO_MEMBERSHIP: Membership = [];

/** Matchers that few values satisfy and that the path index finds by hashing. */
function isSelectiveMatcher(m: ValueMatcher): boolean {
  switch (m.kind) {
    case 'exact':
    case 'prefix':
    case 'suffix':
    case 'equals-ignore-case':
    case 'wildcard':
    case 'cidr':
      return true;
    case 'numeric':
      return m.lower !== undefined && m.lower === m.upper;
    default:
      return false;
  }
}

function mentionKey(path: string, m: ValueMatcher): string {
  const value = 'value' in m ? m.value : m.kind === 'numeric' ? m.lower : '';
  return `${path}\u0000${m.kind}\u0000${typeof value}\u0000${String(value)}`;
}

/** A prior for matchers not hashed on an exact key (scanned or affix lookups). */
function baseWeight(m: ValueMatcher): number {
  return m.kind === 'wildcard' || m.kind === 'cidr' ? 100 : m.kind === 'exact' || m.kind === 'numeric' ? 0 : 1;
}

function isSelective(field: FieldCondition): boolean {
  return field.matchers.every(isSelectiveMatcher);
}

class CompiledMatcher<Id> implements Matcher<Id> {
  private readonly rules = new Map<Id, RuleEntry<Id>>();
  private readonly ruleIds: (Id | undefined)[] = [];
  private readonly freeRules: number[] = [];
  private readonly branches: (BranchInfo | undefined)[] = [];
  private readonly freeBranches: number[] = [];
  private readonly condBranch: number[] = [];
  private readonly freeConds: number[] = [];
  /** Branches that no positive condition can trigger: checked on every event. */
  private readonly alwaysCheck = new Set<number>();
  private readonly paths = new Map<string, { index: PathIndex; slot: number }>();
  /** How many branches mention each selective key (path + matcher), anchored there or not. */
  private readonly mentions = new Map<string, number>();
  private readonly trie = new PathTrie();

  // Per-event scratch, stamped with `epoch` instead of cleared.
  private epoch = 0;
  private readonly condEpoch: number[] = [];
  private readonly branchEpoch: number[] = [];
  private readonly branchCount: number[] = [];
  private readonly ruleEpoch: number[] = [];
  private readonly candidates: number[] = [];
  private values: Leaf[][] = [];
  private memberships: Membership[][] = [];
  private readonly slotArrays: boolean[] = [];
  private readonly slotIndex: (PathIndex | undefined)[] = [];
  private readonly freeSlots: number[] = [];

  get size(): number {
    return this.rules.size;
  }

  has(id: Id): boolean {
    return this.rules.has(id);
  }

  set(id: Id, pattern: Pattern): void {
    this.delete(id);
    const slot = this.freeRules.pop() ?? this.ruleIds.length;
    this.ruleIds[slot] = id;
    this.ruleEpoch[slot] = 0;
    const entry: RuleEntry<Id> = { id, slot, pattern, branches: [] };
    for (const branch of pattern.branches) entry.branches.push(this.addBranch(branch, slot));
    this.rules.set(id, entry);
  }

  delete(id: Id): boolean {
    const entry = this.rules.get(id);
    if (!entry) return false;
    this.rules.delete(id);
    for (const b of entry.branches) this.removeBranch(b);
    this.ruleIds[entry.slot] = undefined;
    this.freeRules.push(entry.slot);
    return true;
  }

  private mention(branch: Branch, delta: number): void {
    for (const field of branch.fields) {
      if (!isSelective(field)) continue;
      for (const m of field.matchers) {
        const key = mentionKey(field.path, m);
        const n = (this.mentions.get(key) ?? 0) + delta;
        if (n > 0) this.mentions.set(key, n);
        else this.mentions.delete(key);
      }
    }
  }

  /** Estimated candidates a field would produce as anchor: branches mentioning its keys. */
  private weight(field: FieldCondition): number {
    let sum = 0;
    for (const m of field.matchers) sum += (this.mentions.get(mentionKey(field.path, m)) ?? 0) + baseWeight(m);
    return sum;
  }

  private addBranch(branch: Branch, rule: number): number {
    this.mention(branch, 1);
    const conds: number[] = [];
    const b = this.freeBranches.pop() ?? this.branches.length;
    const paths = branch.fields.map((f) => this.pathFor(f.path));
    const indexed = this.chooseIndexed(branch);
    for (const [i, field] of branch.fields.entries()) {
      const path = paths[i]!;
      if (!indexed[i]) {
        path.index.size++;
        continue;
      }
      const cond = this.freeConds.pop() ?? this.condBranch.length;
      this.condBranch[cond] = b;
      this.condEpoch[cond] = 0;
      conds.push(cond);
      for (const m of field.matchers) path.index.add(m, cond);
    }
    const needed = conds.length;
    const verifyAlways = needed < branch.fields.length;
    const hasAbsence = branch.fields.some((f) => acceptsAbsence(f.matchers));
    const slots = paths.map((p) => p.slot);
    this.branches[b] = { branch, rule, needed, verifyAlways, slots, conds, indexed, hasAbsence };
    this.branchEpoch[b] = 0;
    if (needed === 0) this.alwaysCheck.add(b);
    if (verifyAlways) this.rebalanceAll(branch);
    return b;
  }

  /**
   * Anchors are chosen when a pattern is added, from the counts known then; a value that later
   * turns out common (many patterns share it) would make every event carrying it produce many
   * candidates. When a key's sharing count reaches a power of two from 16 on, the branches
   * anchored there move to another selective field whose key is shared by fewer than half as many.
   */
  private rebalanceAll(branch: Branch): void {
    for (const field of branch.fields) {
      if (!isSelective(field)) continue;
      const index = this.paths.get(field.path)!.index;
      for (const m of field.matchers) {
        const n = this.mentions.get(mentionKey(field.path, m)) ?? 0;
        if (n < 16 || (n & (n - 1)) !== 0) continue;
        const sharing = index.sharing(m);
        if (sharing) for (const cond of [...sharing]) this.reanchor(this.condBranch[cond]!, n / 2);
      }
    }
  }

  private reanchor(b: number, below: number): void {
    const info = this.branches[b];
    if (!info || info.needed !== 1) return;
    const fields = info.branch.fields;
    const from = info.indexed.indexOf(true);
    let to = -1;
    let best = below;
    fields.forEach((field, i) => {
      if (i === from || !isSelective(field)) return;
      const weight = this.weight(field);
      if (weight < best) {
        best = weight;
        to = i;
      }
    });
    if (to < 0) return;
    const cond = info.conds[0]!;
    const oldIndex = this.paths.get(fields[from]!.path)!.index;
    for (const m of fields[from]!.matchers) oldIndex.remove(m, cond);
    oldIndex.size++;
    const newIndex = this.paths.get(fields[to]!.path)!.index;
    newIndex.size--;
    for (const m of fields[to]!.matchers) newIndex.add(m, cond);
    info.indexed[from] = false;
    info.indexed[to] = true;
  }

  /**
   * Which fields of a branch go into the path indexes. With a selective field (exact, affix,
   * ignore-case, wildcard, CIDR, numeric =), only the one whose keys the fewest patterns mention
   * conditions: it finds the candidates, the other fields are checked on them; so a common value
   * (say `ST_TYPE: ["ST"]` in thousands of rules) does not cost thousands of counts per event.
   * Without one, every field that absence cannot satisfy is counted.
   */
  private chooseIndexed(branch: Branch): boolean[] {
    let anchor = -1;
    let best = Infinity;
    branch.fields.forEach((field, i) => {
      if (!isSelective(field)) return;
      const weight = this.weight(field);
      if (weight < best) {
        best = weight;
        anchor = i;
      }
    });
    return branch.fields.map((field, i) => (anchor >= 0 ? i === anchor : !acceptsAbsence(field.matchers)));
  }

  private removeBranch(b: number): void {
    const info = this.branches[b]!;
    this.mention(info.branch, -1);
    let condIndex = 0;
    for (const [i, field] of info.branch.fields.entries()) {
      const path = this.paths.get(field.path)!;
      if (!info.indexed[i]) path.index.size--;
      else {
        const cond = info.conds[condIndex++]!;
        for (const m of field.matchers) path.index.remove(m, cond);
      }
      if (path.index.size === 0) this.dropPath(field.path);
    }
    this.freeConds.push(...info.conds);
    this.branches[b] = undefined;
    this.alwaysCheck.delete(b);
    this.freeBranches.push(b);
  }

  private pathFor(path: string): { index: PathIndex; slot: number } {
    let entry = this.paths.get(path);
    if (!entry) {
      const slot = this.freeSlots.pop() ?? this.slotIndex.length;
      entry = { index: new PathIndex(), slot };
      this.paths.set(path, entry);
      this.slotIndex[slot] = entry.index;
      this.values[slot] = [];
      this.memberships[slot] = [];
      this.slotArrays[slot] = false;
      this.slotEpoch[slot] = 0;
      this.slotCount[slot] = 0;
      this.trie.add(path, slot);
    }
    return entry;
  }

  private dropPath(path: string): void {
    const entry = this.paths.get(path)!;
    this.paths.delete(path);
    this.slotIndex[entry.slot] = undefined;
    this.freeSlots.push(entry.slot);
    this.trie.remove(path);
  }

  match(event: unknown): Id[] {
    this.begin();
    if (typeof event === 'object' && event !== null) this.walk(event, this.trie.root, NO_MEMBERSHIP);
    return this.finish();
  }

  matchJson(text: string): Id[] {
    this.begin();
    this.scanner.scan(text, this.trie.root);
    return this.finish();
  }

  private begin(): void {
    this.epoch++;
    if (this.epoch === 0x3fffffff) this.resetEpochs();
    this.candidates.length = 0;
  }

  private resetEpochs(): void {
    this.epoch = 1;
    this.condEpoch.fill(0);
    this.branchEpoch.fill(0);
    this.slotEpoch.fill(0);
    this.ruleEpoch.fill(0);
  }

  private walk(obj: object, node: PathNode, membership: Membership): void {
    if (Array.isArray(obj)) {
      const id = this.arrayIds++;
      for (let i = 0; i < obj.length; i++) this.visit(obj[i], node, [...membership, id, i]);
      return;
    }
    const children = node.children;
    const dotted = node.dotted;
    for (const key in obj) {
      const child = children.get(key) ?? dotted?.get(key);
      if (child) this.visit((obj as Record<string, unknown>)[key], child, membership);
    }
  }

  private visit(value: unknown, node: PathNode, membership: Membership): void {
    if (typeof value === 'object' && value !== null) {
      if (Array.isArray(value) || node.hasChildren) this.walk(value, node, membership);
    } else if (node.slot >= 0 && value !== undefined) {
      this.onValue(node.slot, value as Leaf, membership);
    }
  }

  private arrayIds = 0;
  private readonly scanner = new JsonScanner((slot, value, membership) => this.onValue(slot, value, membership));

  /** Records one leaf value and counts the conditions it satisfies. */
  readonly onValue = (slot: number, value: Leaf, membership: Membership): void => {
    // Slots are reset lazily: a slot whose stamp is old holds last event's values.
    const n = this.slotEpoch[slot] === this.epoch ? this.slotCount[slot]! : this.touch(slot);
    this.values[slot]![n] = value;
    this.memberships[slot]![n] = membership;
    this.slotCount[slot] = n + 1;
    if (membership.length > 0) this.slotArrays[slot] = true;
    this.slotIndex[slot]!.hits(value, this.hit);
  };

  private touch(slot: number): number {
    this.slotEpoch[slot] = this.epoch;
    this.slotArrays[slot] = false;
    return 0;
  }

  private readonly slotEpoch: number[] = [];
  private readonly slotCount: number[] = [];

  /** Values recorded at `slot` for the current event. */
  private countAt(slot: number): number {
    return this.slotEpoch[slot] === this.epoch ? this.slotCount[slot]! : 0;
  }

  private readonly hit = (cond: number): void => {
    const epoch = this.epoch;
    if (this.condEpoch[cond] === epoch) return;
    this.condEpoch[cond] = epoch;
    const b = this.condBranch[cond]!;
    if (this.branchEpoch[b] !== epoch) {
      this.branchEpoch[b] = epoch;
      this.branchCount[b] = 0;
    }
    if (++this.branchCount[b]! === this.branches[b]!.needed) this.candidates.push(b);
  };

  private finish(): Id[] {
    const out: Id[] = [];
    const candidates = this.candidates;
    for (let i = 0; i < candidates.length; i++) this.accept(candidates[i]!, out);
    if (this.alwaysCheck.size > 0) for (const b of this.alwaysCheck) this.accept(b, out);
    this.arrayIds = 0;
    return out;
  }

  private accept(b: number, out: Id[]): void {
    const info = this.branches[b]!;
    const epoch = this.epoch;
    if (this.ruleEpoch[info.rule] === epoch) return;
    if ((info.verifyAlways || this.arraysAt(info)) && !this.verify(info)) return;
    this.ruleEpoch[info.rule] = epoch;
    out.push(this.ruleIds[info.rule]!);
  }

  private arraysAt(info: BranchInfo): boolean {
    for (const slot of info.slots) if (this.countAt(slot) > 0 && this.slotArrays[slot]) return true;
    return false;
  }

  /** Checks a candidate: directly when no arrays or absence are involved, else by the search. */
  private verify(info: BranchInfo): boolean {
    if (info.hasAbsence || this.arraysAt(info)) return searchBranch(info.branch, this.flatView).matched;
    const fields = info.branch.fields;
    for (let i = 0; i < fields.length; i++) {
      if (info.indexed[i]) continue;
      const slot = info.slots[i]!;
      const count = this.countAt(slot);
      const values = this.values[slot]!;
      const matchers = fields[i]!.matchers;
      let ok = false;
      for (let j = 0; j < count && !ok; j++) {
        for (let k = 0; k < matchers.length && !ok; k++) ok = valueMatches(matchers[k]!, values[j]!);
      }
      if (!ok) return false;
    }
    return true;
  }

  private readonly flatView = {
    get: (path: string): FlatValue[] | undefined => {
      const entry = this.paths.get(path);
      if (!entry) return undefined;
      const count = this.countAt(entry.slot);
      const values = this.values[entry.slot]!;
      const memberships = this.memberships[entry.slot]!;
      const out: FlatValue[] = [];
      for (let i = 0; i < count; i++) out.push({ value: values[i]!, membership: memberships[i]! });
      return out;
    },
  };
}

/** Creates an empty compiled matcher. */
export function createMatcher<Id>(): Matcher<Id> {
  return new CompiledMatcher<Id>();
}
