/**
 * @module Event flattening and the array-consistent search that decides whether one branch
 * matches. Shared by the naive matcher (all paths) and the compiled matcher (its verification).
 *
 * Array consistency (as event-ruler's `rulesForJSONEvent`): every leaf value carries its
 * membership, the (array, index) pairs of the event arrays it sits in. One match may not use two
 * values from different elements of the same array. Fields are decided in sorted path order; an
 * `exists: false` field is absent when no value at its path is consistent with the values chosen
 * for the fields before it.
 */
import type { Branch, FieldCondition } from './types.js';
import { acceptsAbsence, type Leaf, valueMatches } from './values.js';

/** Flat (arrayId, index) pairs, outermost array first; empty outside arrays. */
export type Membership = readonly number[];

export interface FlatValue {
  readonly value: Leaf;
  readonly membership: Membership;
}

/** Values by path; only `get` is needed, so a matcher can pass a view over its own buffers. */
export interface FlatEvent {
  get(path: string): readonly FlatValue[] | undefined;
}

const NO_MEMBERSHIP: Membership = [];

/** Flattens every leaf of `event` (keys joined with '.'; arrays transparent). */
export function flattenEvent(event: unknown): FlatEvent {
  const out = new Map<string, FlatValue[]>();
  let arrays = 0;
  const visit = (value: unknown, path: string, membership: Membership): void => {
    if (Array.isArray(value)) {
      const id = arrays++;
      value.forEach((v, i) => visit(v, path, [...membership, id, i]));
    } else if (typeof value === 'object' && value !== null) {
      for (const key of Object.keys(value)) {
        visit((value as Record<string, unknown>)[key], path === '' ? key : `${path}.${key}`, membership);
      }
    } else if (path !== '' && value !== undefined) {
      let list = out.get(path);
      if (!list) out.set(path, (list = []));
      list.push({ value: value as Leaf, membership });
    }
  };
  visit(event, '', NO_MEMBERSHIP);
  return out;
}

/** Binding: array id -> chosen index. */
type Binding = ReadonlyMap<number, number>;

function consistent(membership: Membership, binding: Binding): boolean {
  for (let i = 0; i < membership.length; i += 2) {
    const bound = binding.get(membership[i]!);
    if (bound !== undefined && bound !== membership[i + 1]) return false;
  }
  return true;
}

function extend(binding: Binding, membership: Membership): Binding {
  if (membership.length === 0) return binding;
  const next = new Map(binding);
  for (let i = 0; i < membership.length; i += 2) next.set(membership[i]!, membership[i + 1]!);
  return next;
}

/** Outcome of searching a branch: matched, or the index of the deepest field that failed. */
export interface BranchSearch {
  readonly matched: boolean;
  readonly failedField: number;
}

/** Searches for a consistent choice of values satisfying every field of `branch`. */
export function searchBranch(branch: Branch, flat: FlatEvent): BranchSearch {
  let deepest = 0;
  const fields = branch.fields;
  const step = (i: number, binding: Binding): boolean => {
    if (i === fields.length) return true;
    if (i > deepest) deepest = i;
    const field: FieldCondition = fields[i]!;
    const values = flat.get(field.path) ?? [];
    let present = false;
    for (const v of values) {
      if (!consistent(v.membership, binding)) continue;
      present = true;
      if (field.matchers.some((m) => valueMatches(m, v.value)) && step(i + 1, extend(binding, v.membership))) {
        return true;
      }
    }
    return !present && acceptsAbsence(field.matchers) && step(i + 1, binding);
  };
  const matched = step(0, new Map());
  return { matched, failedField: matched ? -1 : deepest };
}
