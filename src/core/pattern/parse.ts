/** @module Pattern parsing and validation (EventBridge / event-ruler pattern language). */
import type { Pattern, PatternLimits } from './types.js';

export const DEFAULT_PATTERN_LIMITS: PatternLimits = Object.freeze({
  maxFields: 64,
  maxValuesPerField: 256,
  maxBranches: 256,
  maxWildcardStars: 16,
  maxDepth: 16,
  maxValueLength: 4096,
});

export interface ParsePatternOptions {
  readonly limits?: Partial<PatternLimits>;
  /** Prefix for problem pointers, e.g. '/spec/match'. */
  readonly pointer?: string;
}

/**
 * Parses a pattern given as a JSON value or as JSON text (duplicate keys: last wins).
 * Throws E_INVALID with one problem per error, each with a JSON pointer into the pattern.
 */
export function parsePattern(_input: unknown, _options: ParsePatternOptions = {}): Pattern {
  throw new Error('not implemented yet');
}
