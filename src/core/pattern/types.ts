/**
 * @module The compiled pattern model: what `parsePattern` produces from EventBridge pattern JSON.
 *
 * A pattern is a disjunction of branches (`$or` expanded); a branch is a conjunction of field
 * conditions sorted by path; a field condition holds value matchers that are OR-ed.
 */

/** A flattened field path: object keys joined with '.', arrays transparent (as event-ruler). */
export type FieldPath = string;

export type ValueMatcher =
  /** Exact JSON value. Strings are compared after IP canonicalization; numbers as float64. */
  | { readonly kind: 'exact'; readonly value: string | number | boolean | null }
  | { readonly kind: 'prefix'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'suffix'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'equals-ignore-case'; readonly value: string }
  | { readonly kind: 'wildcard'; readonly value: string }
  /** Numeric range; `undefined` bounds are open-ended. `=` is lower == upper, both inclusive. */
  | {
      readonly kind: 'numeric';
      readonly lower?: number;
      readonly lowerInclusive: boolean;
      readonly upper?: number;
      readonly upperInclusive: boolean;
    }
  | { readonly kind: 'cidr'; readonly value: string }
  | { readonly kind: 'exists'; readonly value: boolean }
  | { readonly kind: 'anything-but'; readonly not: AnythingBut };

/** What an anything-but excludes: exact values, or strings by prefix, suffix, case or wildcard. */
export type AnythingBut =
  | { readonly kind: 'values'; readonly values: readonly (string | number)[] }
  | { readonly kind: 'prefix'; readonly values: readonly string[] }
  | { readonly kind: 'suffix'; readonly values: readonly string[] }
  | { readonly kind: 'equals-ignore-case'; readonly values: readonly string[] }
  | { readonly kind: 'wildcard'; readonly values: readonly string[] };

export interface FieldCondition {
  readonly path: FieldPath;
  /** JSON pointer of this field's value list inside the pattern, for explanations. */
  readonly pointer: string;
  readonly matchers: readonly ValueMatcher[];
}

export interface Branch {
  /** Sorted by `path` (UTF-16 code unit order); at most one condition per path. */
  readonly fields: readonly FieldCondition[];
}

export interface Pattern {
  readonly branches: readonly Branch[];
  /** Every distinct path any branch refers to, sorted. */
  readonly paths: readonly FieldPath[];
  /** The pattern as JSON (after duplicate keys were resolved, last wins). */
  readonly source: Readonly<Record<string, unknown>>;
}

/** Caps on what one pattern may contain; exceeding one is an E_INVALID error naming it. */
export interface PatternLimits {
  /** Field conditions per branch. Default 64. */
  readonly maxFields: number;
  /** Values (matchers) in one field's list, counting anything-but list entries. Default 256. */
  readonly maxValuesPerField: number;
  /** Branches after `$or` expansion. Default 256. */
  readonly maxBranches: number;
  /** `*` characters in one wildcard. Default 16 (consecutive `**` is always rejected). */
  readonly maxWildcardStars: number;
  /** Nesting depth of the pattern object. Default 16. */
  readonly maxDepth: number;
  /** Length of one string value. Default 4096. */
  readonly maxValueLength: number;
}

/** Why a pattern did not match an event, for `rules test`. */
export interface MatchExplanation {
  readonly matched: boolean;
  /** For each branch that failed (one for a pattern without `$or`): the first field that failed. */
  readonly failures: readonly {
    /** JSON pointer inside the pattern. */
    readonly pointer: string;
    readonly path: FieldPath;
    readonly reason: string;
  }[];
}

/** One structure holding many patterns; see createMatcher. */
export interface Matcher<Id> {
  /** Adds or replaces the pattern for `id`; matching continues meanwhile (no rebuild pause). */
  set(id: Id, pattern: Pattern): void;
  delete(id: Id): boolean;
  has(id: Id): boolean;
  readonly size: number;
  /** The ids whose pattern matches a parsed event (each once, in no particular order). */
  match(event: unknown): Id[];
  /** The same from JSON text, parsing only what patterns refer to. Throws E_MALFORMED_JSON. */
  matchJson(text: string): Id[];
}
